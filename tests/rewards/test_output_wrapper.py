"""Whole-output code fences: unwrapped and scored as the page, reported as a format finding of their own."""
from __future__ import annotations

import pytest

from rewards import find_hallucinations, parse_page, score_page
from rewards.page.wrapper import blank_wrapper, find_wrapper

TABLE = "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td></tr></table>"
PAGE = f"# Title\n\nText with $x^2$.\n\n{TABLE}\n"


@pytest.mark.parametrize("opening", ["```markdown", "```md", "```html", "```", "~~~markdown", "```Markdown ",
                                     "````markdown", "  ```latex"])
def test_closed_wrapper_is_unwrapped(opening: str) -> None:
    fence = opening.strip()[:4] if opening.strip().startswith("````") else opening.strip()[:3]
    md = f"\n{opening}\n{PAGE}{fence}\n\n"
    page = parse_page(md)
    assert page.wrapper is not None and page.wrapper.closed
    assert [b.kind for b in page.blocks] == ["text", "text", "html_table"]  # no code block
    table = page.tables()[0]
    assert md[table.start : table.end] == TABLE  # offsets into the output as written
    assert len(page.text) == len(md)


def test_crlf_wrapper() -> None:
    md = "```markdown\r\n# A\r\n\r\n" + TABLE + "\r\n```\r\n"
    page = parse_page(md)
    assert page.wrapper is not None and page.wrapper.closed and [b.kind for b in page.blocks] == ["text", "html_table"]


def test_cut_off_wrapper_is_unwrapped() -> None:
    md = "```markdown\n" + PAGE + "More text"
    page = parse_page(md)
    assert page.wrapper is not None and not page.wrapper.closed
    assert [b.kind for b in page.blocks] == ["text", "text", "html_table", "text"]
    assert "never closed" in page.wrapper.describe()


def test_inner_code_block_stays_a_code_block() -> None:
    md = "```markdown\n# A\n\n```python\nprint(1)\n```\n\nText\n```"
    page = parse_page(md)
    assert page.wrapper is not None and page.wrapper.closed
    assert [(b.kind, b.content) for b in page.blocks if b.kind == "code"] == [("code", "print(1)")]


@pytest.mark.parametrize("md", [
    "```python\nprint(1)\n```",  # a code block of another language: a real code block
    "Intro\n\n```markdown\n# A\n```",  # prose before the fence
    "```markdown\n# A\n```\n\nProse after the fence",  # the fence closed early and prose follows
    "``` markdown is ok ```",  # an inline-looking line, not a wrapper
])
def test_not_a_wrapper(md: str) -> None:
    assert parse_page(md).wrapper is None


def test_blank_wrapper_keeps_length_and_content() -> None:
    md = "```md\nabc\n```"
    w = find_wrapper(md)
    assert (w.open_start, w.open_end, w.close_start, w.close_end) == (0, 5, 10, 13)
    assert blank_wrapper(md, w) == "     \nabc\n   "


def test_wrapper_finding_and_no_missing_content() -> None:
    wrapped = f"```markdown\n{PAGE}```"
    findings = find_hallucinations(wrapped, PAGE)
    assert [(f.category, f.start, f.end) for f in findings] == [("output_wrapper", 0, 11)]
    assert "```markdown" in findings[0].message
    s = score_page(wrapped, PAGE)
    assert s.teds == 1.0 and s.table_count == 1.0 and s.formula_count == 1.0 and s.text_accuracy == 1.0
    # without unwrapping, the table would be missing and the text a code block; the wrapper itself costs
    # exactly its own component (no_wrapper, weight 0.5 of 12), so GRPO learns not to write one
    plain = score_page(PAGE, PAGE)
    assert {k: v for k, v in s.components.items() if k != "no_wrapper"} == \
        {k: v for k, v in plain.components.items() if k != "no_wrapper"}
    assert (s.no_wrapper, plain.no_wrapper) == (0.0, 1.0)
    assert plain.total == 1.0 and s.total == (12 - 0.5) / 12


def test_cut_off_wrapper_with_open_table_is_still_truncation() -> None:
    md = "```markdown\n<table><tr><td>a</td>"
    cats = sorted({f.category for f in find_hallucinations(md)})
    assert cats == ["output_wrapper", "truncation", "unclosed_table"]
