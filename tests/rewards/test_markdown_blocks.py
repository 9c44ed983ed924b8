"""Block splitting of page Markdown: kinds, spans, unclosed structures."""
from __future__ import annotations

import time

from rewards.page.markdown_blocks import parse_blocks, parse_page, pipe_table_html, pipe_table_rows, split_pipe_row


def kinds(md: str) -> list[tuple[str, str, bool]]:
    """(kind, exact source slice, unclosed) of every block."""
    return [(b.kind, md[b.start : b.end], b.unclosed) for b in parse_blocks(md)]


def test_every_kind_with_exact_spans() -> None:
    md = (
        "# Title\n\nA paragraph with $x^2$ and \\(y\\).\n\n- one\n- two\n\n"
        "<table><tr><td>a $b$</td><td colspan=\"2\">c</td></tr></table>\n\n"
        "$$\nE = mc^2\n$$\n\n\\[ z \\]\n\n| h1 | h2 |\n|---|:-:|\n| 1 | $|x|$ |\n\n```python\nprint(1)\n```\n"
    )
    assert kinds(md) == [
        ("text", "# Title", False),
        ("text", "A paragraph with $x^2$ and \\(y\\).", False),
        ("inline_math", "$x^2$", False),
        ("inline_math", "\\(y\\)", False),
        ("text", "- one\n- two", False),
        ("html_table", '<table><tr><td>a $b$</td><td colspan="2">c</td></tr></table>', False),
        ("inline_math", "$b$", False),
        ("display_math", "$$\nE = mc^2\n$$", False),
        ("display_math", "\\[ z \\]", False),
        ("pipe_table", "| h1 | h2 |\n|---|:-:|\n| 1 | $|x|$ |", False),
        ("inline_math", "$|x|$", False),
        ("code", "```python\nprint(1)\n```", False),
    ]
    blocks = parse_blocks(md)
    assert [b.role for b in blocks if b.kind == "text"] == ["heading", "paragraph", "list"]
    assert blocks[2].content == "x^2" and blocks[2].delimiter == "$"
    assert blocks[7].content == "\nE = mc^2\n" and blocks[8].delimiter == "\\["
    assert blocks[11].content == "print(1)" and blocks[11].role == "python"


def test_unclosed_table_runs_to_end_and_is_flagged() -> None:
    md = "Intro\n\n<table><tr><td>1</td><td>2"
    assert kinds(md)[-1] == ("html_table", "<table><tr><td>1</td><td>2", True)


def test_unclosed_table_stops_at_a_new_top_level_table() -> None:
    md = "<table><tr><td>1</td></tr>\n<table><tr><td>2</td></tr></table>"
    got = kinds(md)
    assert got == [("html_table", "<table><tr><td>1</td></tr>\n", True), ("html_table", md[27:], False)]


def test_table_nested_in_a_cell_stays_one_block() -> None:
    md = "<table><tr><td><table><tr><td>in</td></tr></table></td></tr></table> after"
    assert kinds(md) == [("html_table", md[:-6], False), ("text", "after", False)]


def test_unclosed_table_stops_at_blank_line_then_prose() -> None:
    md = "<table><tr><td>1</td>\n\nThen prose."
    assert kinds(md) == [("html_table", "<table><tr><td>1</td>", True), ("text", "Then prose.", False)]
    # a blank line followed by more tags keeps the table going
    md2 = "<table><tr><td>1</td></tr>\n\n<tr><td>2</td></tr></table>"
    assert kinds(md2) == [("html_table", md2, False)]


def test_unclosed_display_math_and_fence() -> None:
    assert kinds("$$ x + 1") == [("display_math", "$$ x + 1", True)]
    # TeX rejects a blank line inside math: the formula ends there
    assert kinds("$$ x\n\nnext") == [("display_math", "$$ x", True), ("text", "next", False)]
    assert kinds("\\[ y") == [("display_math", "\\[ y", True)]
    # (not first on the page: a page that starts with an unclosed fence is a cut-off whole-output wrapper)
    assert kinds("A\n\n```\ncode\n\nmore $$")[1:] == [("code", "```\ncode\n\nmore $$", True)]


def test_inline_math_rules() -> None:
    md = "costs $5 and $10 today; $x$ and $\\alpha + 1 unclosed"
    got = [(b.kind, md[b.start : b.end], b.unclosed) for b in parse_blocks(md) if b.kind == "inline_math"]
    assert got == [("inline_math", "$x$", False), ("inline_math", "$\\alpha + 1 unclosed", True)]
    assert parse_page("a \\$ b \\$ c").inline_math == ()  # escaped dollars are text
    page = parse_page("stray \\) here and \\] there")
    assert [(s.delimiter, s.start) for s in page.stray] == [("\\)", 6), ("\\]", 18)]


def test_inline_math_does_not_cross_cells_or_paragraphs() -> None:
    md = "<table><tr><td>$a</td><td>b$</td></tr></table>"
    got = [(md[b.start : b.end], b.unclosed) for b in parse_page(md).inline_math]
    assert got == [("$a", True)]  # `b$` closes nothing: its `$` is not an opener
    page = parse_page("one $x\n\ntwo y$")
    assert [(b.content, b.unclosed) for b in page.inline_math] == [("x", True)]


def test_escaped_display_delimiters_are_text() -> None:
    assert [b.kind for b in parse_blocks("price \\$$5")] == ["text"]
    assert [b.kind for b in parse_blocks("line \\\\[2pt] next")] == ["text"]


def test_pipe_table_needs_delimiter_row() -> None:
    assert [b.kind for b in parse_blocks("| not | a table |\nplain")] == ["text"]
    block = parse_page("| a | b |\n|---|---|\n| 1 | 2 | 3 |\n\nafter").blocks[0]
    assert pipe_table_rows(block) == [["a", "b"], ["1", "2", "3"]]
    assert pipe_table_html(block) == "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td><td>3</td></tr></table>"
    assert split_pipe_row("| a \\| b | `x|y` | $|z|$ |") == ["a | b", "`x|y`", "$|z|$"]  # GFM: \\| is a pipe


def test_list_interrupts_paragraph_and_heading_is_alone() -> None:
    md = "Para line\n- item\n## Head\nmore"
    assert [(b.role, b.content) for b in parse_blocks(md)] == [
        ("paragraph", "Para line"),
        ("list", "- item"),
        ("heading", "## Head"),
        ("paragraph", "more"),
    ]


def test_non_text_input_never_raises() -> None:
    assert parse_blocks(None) == []
    assert [b.kind for b in parse_blocks(b"bytes \xff")] == ["text"]
    assert parse_blocks("") == [] and parse_blocks("\n\n  \n") == []


def _parse_seconds(md: str) -> float:
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        parse_page(md)
        best = min(best, time.perf_counter() - t0)
    return best


def test_linear_time_on_adversarial_input() -> None:
    """4x the input costs well under 16x the time (quadratic would be 16x): 25 KB vs 100 KB per pattern.
    The absolute bound is loose (other jobs share the 2 cores); the ratio is what catches a quadratic scan."""
    patterns = ["<table>", "$$", "$x$ ", "\\[", "```\n", "| a |\n", "<td ", "<table><tr><td>", "\\(", "a\n",
                "<table>\n\nx", "<td>$a"]
    for unit in patterns:
        small, big = unit * (25_000 // len(unit)), unit * (100_000 // len(unit))
        t_small, t_big = _parse_seconds(small), _parse_seconds(big)
        assert t_big < 2.0, unit
        assert t_big < 8 * t_small + 0.05, (unit, t_small, t_big)
