"""Tables as other OCR systems write them: HTML with headers, sections and attributes, pipe tables in their
real variety, LaTeX tabulars with spans; and currency dollars that are not math."""
from __future__ import annotations

import pytest

from rewards import parse_page, score_page
from rewards.page.analysis import analyze
from rewards.tables.latex_tabular import tabular_html

GT = "<table><tr><td>A</td><td>B</td></tr><tr><td>1 &amp; 2</td><td>x y</td></tr></table>"


def one_table(md: str) -> tuple[str, str, int, tuple]:
    """(kind, HTML every check reads, rows, issues) of the page's only table."""
    a = analyze(md)
    assert len(a.tables) == 1, [b.kind for b in a.page.blocks]
    return a.tables[0].block.kind, a.tables[0].html, a.table_rows[0], a.table_checks[0].issues


@pytest.mark.parametrize("md", [
    "<table><tr><th>A</th><th>B</th></tr><tr><td>1 &amp; 2</td><td>x y</td></tr></table>",
    "<table><thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr><td>1 &amp; 2</td><td>x y</td></tr>"
    "</tbody><tfoot></tfoot></table>",
    '<table border="1" style="width:100%"><tr><td align="center">A</td><td style="color:red">B</td></tr>'
    "<tr><td>1 &#38; 2</td><td>x&nbsp;y</td></tr></table>",
    "1. An item\n\n   <table>\n     <tr><td>A</td><td>B</td></tr>\n     <tr><td>1 &amp; 2</td><td>x y</td></tr>\n"
    "   </table>\n\n2. Next item",
    "- An item\n  <table><tr><td>A</td><td>B</td></tr><tr><td>1 &amp; 2</td><td>x y</td></tr></table>\n- next",
])
def test_html_tables_as_other_systems_write_them(md: str) -> None:
    kind, _, rows, issues = one_table(md)
    assert (kind, rows, issues) == ("html_table", 2, ())
    s = score_page(md, GT, table_normalization="omnidocbench")
    assert s.teds == 1.0 and s.teds_s == 1.0 and s.table_count == 1.0
    assert [f.category for f in s.findings] == []


def test_unquoted_spans_are_spans() -> None:
    md = "<table><tr><td colspan=2>A</td></tr><tr><td rowspan=1>1</td><td>2</td></tr></table>"
    _, _, rows, issues = one_table(md)
    assert (rows, issues) == (2, ())
    assert analyze(md).table_anchors[0] == {(0, 0): "A", (1, 0): "1", (1, 1): "2"}


def test_pubtabnet_scores_the_table_as_written() -> None:
    # The default keeps PubTabNet's metric: section tags and a non-breaking space cost something.
    sections = ("<table><thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr><td>1 &amp; 2</td><td>x y</td>"
                "</tr></tbody></table>")
    assert score_page(sections, GT).teds == pytest.approx(1 - 2 / 8)  # thead, tbody inserted; n = 8 elements
    nbsp = GT.replace("x y", "x&nbsp;y")
    assert score_page(nbsp, GT).teds == pytest.approx(1 - (1 / 3) / 6)
    assert score_page(nbsp, GT, table_normalization="omnidocbench").teds == 1.0


PIPE_HTML = "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td></tr></table>"


@pytest.mark.parametrize("md", [
    "- item\n| a | b |\n|---|---|\n| 1 | 2 |",  # right after a list item
    "Some text  \n| a | b |\n|---|---|\n| 1 | 2 |",  # after a hard line break (two spaces)
    "Some text\\\n| a | b |\n|---|---|\n| 1 | 2 |",  # after a hard line break (backslash)
    "|a|   b    |\n| :--- |---:|\n|1 |2|",  # uneven padding, alignment colons
    "a | b\n--- | :---:\n1 | 2",  # no leading or trailing pipes
    "a | b\n|---|---|\n1 | 2",  # pipes on the delimiter row only
    "1.\n    | a | b |\n    |---|---|\n    | 1 | 2 |",  # indented inside a list item
])
def test_pipe_tables_in_their_real_variety(md: str) -> None:
    assert one_table(md) == ("pipe_table", PIPE_HTML, 2, ())


def test_escaped_pipes_and_currency_in_pipe_cells() -> None:
    md = "| a \\| x | $5 | $10 |\n|---|---|---|\n| $|y|$ | $5 and $10 | $z$ |"
    _, html, rows, issues = one_table(md)
    assert html == ("<table><tr><td>a | x</td><td>$5</td><td>$10</td></tr>"
                    "<tr><td>$|y|$</td><td>$5 and $10</td><td>$z$</td></tr></table>")
    assert (rows, issues) == (2, ())
    assert [f.content for f in parse_page(md).inline_math] == ["|y|", "z"]


@pytest.mark.parametrize("md", ["Title\n---\n\ntext | with pipe\n---", "|---|---|\n| 1 | 2 |", "a\n\n---|\n"])
def test_not_pipe_tables(md: str) -> None:
    assert analyze(md).tables == []


LATEX = r"""\begin{table}
\begin{tabular}{|l|c|c|} \hline
\multirow{2}{*}{Name} & \multicolumn{2}{c|}{Score \& rank} \\ \cline{2-3}
 & A & B \\ \hline
\textbf{x} & 1\% & $2$ \\
y & \multicolumn{2}{c}{\multirow{2}{*}{big}} \\
z & & \\
\hline
\end{tabular}
\end{table}"""


def test_latex_tabular_with_spans() -> None:
    a = analyze(LATEX)
    assert [b.kind for b in a.page.blocks] == ["text", "latex_table", "text"]
    assert a.tables[0].html == (
        '<table><tr><td rowspan="2">Name</td><td colspan="2">Score &amp; rank</td></tr><tr><td>A</td><td>B</td>'
        '</tr><tr><td>x</td><td>1%</td><td>$2$</td></tr><tr><td>y</td><td colspan="2" rowspan="2">big</td></tr>'
        "<tr><td>z</td></tr></table>")
    assert a.table_rows == [5] and a.table_checks[0].issues == ()
    assert [f.content for f in a.page.inline_math] == ["2"]


def test_latex_tabular_variants() -> None:
    booktabs = r"\begin{tabular*}{\textwidth}{@{}ll@{}} \toprule h1 & h2 \\ \midrule 1 & 2 \\[2pt] \bottomrule \end{tabular*}"
    assert tabular_html(booktabs) == "<table><tr><td>h1</td><td>h2</td></tr><tr><td>1</td><td>2</td></tr></table>"
    bottom = r"\begin{tabular}{ll} & a \\ & b \\ \multirow{-3}{*}{M} & c \\ \end{tabular}"
    assert tabular_html(bottom) == ('<table><tr><td rowspan="3">M</td><td>a</td></tr><tr><td>b</td></tr>'
                                    "<tr><td>c</td></tr></table>")
    nested = r"\begin{tabular}{l} \begin{tabular}{c} in \end{tabular} \\ out \end{tabular}"
    page = parse_page(nested)
    assert [(b.kind, b.unclosed) for b in page.blocks] == [("latex_table", False)]


def test_latex_table_scored_against_html_ground_truth() -> None:
    md = "\\begin{tabular}{ll}\\hline\nA & B \\\\\n1 \\& 2 & x y \\\\ \\hline\n\\end{tabular}"
    s = score_page(md, GT)
    assert s.teds == 1.0 and [f.category for f in s.findings] == []
    cut = score_page("\\begin{tabular}{ll}\nA & B \\\\\n1 & 2", GT)
    assert "truncation" in [f.category for f in cut.findings]


def test_currency_is_not_math_but_parenthesised_math_is() -> None:
    md = r"Costs $5 and $10; \(x^2\) here, $y$ there, and $5-$10 a piece.\[z\]"
    page = parse_page(md)
    assert [(f.delimiter, f.content) for f in page.inline_math] == [("\\(", "x^2"), ("$", "y")]
    assert [(b.kind, b.content) for b in page.blocks if b.kind == "display_math"] == [("display_math", "z")]
    cells = "<table><tr><td>$5</td><td>$10 or $20</td></tr></table>"
    assert parse_page(cells).inline_math == ()
    assert score_page(md).components["tag_closure"] == 1.0
