"""Tables in born-digital PDFs: booktabs, unruled, zebra and merged-header tables built here, a 500-cell
table's cell text, and the ICDAR 2013 competition's real PDFs against the organisers' ground truth."""
from __future__ import annotations

import pymupdf
import pytest

from data_prep.pdfs.silver_labels import silver_page
from data_prep.pdfs.tables import (
    Cell,
    PageTable,
    WordIndex,
    fill_text,
    page_tables,
    split_merged_columns,
)

_ROWS = [["Region", "2023", "2024", "Change"], ["North", "1,204", "1,388", "+15.3%"],
         ["South", "987", "1,012", "+2.5%"], ["East", "2,310", "2,145", "-7.1%"], ["West", "455", "502", "+10.3%"]]
_STYLES = {
    "booktabs": "table {border-collapse: collapse; border-top: 1.5pt solid black; border-bottom: 1.5pt solid black}"
                " tr:first-child td {border-bottom: 0.8pt solid black} td {padding: 3pt 10pt}",
    "unruled": "table {border-collapse: collapse} td {padding: 3pt 12pt}",
    "zebra": "table {border-collapse: collapse} tr:nth-child(even) td {background-color: #dddddd} td {padding: 3pt 12pt}",
}
_BODY = [["North", "1,204", "1,388", "12", "14"], ["South", "987", "1,012", "9", "9"], ["East", "2,310", "2,145", "20", "18"]]
_MERGED_HEAD = ('<tr><td rowspan="2">Region</td><td colspan="2" style="text-align:center">Sales</td>'
                '<td colspan="2" style="text-align:center">Staff</td></tr>'
                '<tr><td>2023</td><td>2024</td><td>2023</td><td>2024</td></tr>')


def _html(rows: list[list[str]], head: str = "") -> str:
    return "<table>" + head + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</table>"


def _page(html: str, css: str) -> pymupdf.Page:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_htmlbox(pymupdf.Rect(72, 72, 540, 100), "<p>Sales by region, in thousands.</p>")
    page.insert_htmlbox(pymupdf.Rect(72, 110, 540, 400), html, css=css + " body {font-size: 10pt}")
    page._keep_doc = doc  # the page must not outlive its document
    return page


@pytest.mark.parametrize("style", sorted(_STYLES))
def test_partly_ruled_and_unruled_tables_come_out_whole(style):
    label = silver_page(_page(_html(_ROWS), _STYLES[style]))
    assert label.markdown == "Sales by region, in thousands.\n\n" + _html(_ROWS)
    assert (label.tables, label.merged_cells, label.label_kind) == (1, 0, "silver")


def test_merged_headers():
    ruled = _STYLES["booktabs"] + " td {border: 0.5pt solid black}"
    label = silver_page(_page(_html(_BODY, _MERGED_HEAD), ruled))
    assert label.markdown.endswith(_html(_BODY, _MERGED_HEAD.replace(' style="text-align:center"', "")))
    assert label.merged_cells == 3
    # Booktabs: the centred colspans are found; the unruled rowspan of "Region" is not (no rule says so).
    label = silver_page(_page(_html(_BODY, _MERGED_HEAD), _STYLES["booktabs"]))
    assert label.markdown.endswith(
        '<table><tr><td>Region</td><td colspan="2">Sales</td><td colspan="2">Staff</td></tr>'
        "<tr><td></td><td>2023</td><td>2024</td><td>2023</td><td>2024</td></tr>" + _html(_BODY)[7:])


def test_two_columns_merged_by_the_engine_are_split():
    """On a real page the engine put `Male Female` pairs under one header into one column (ICDAR us-033);
    the repair splits a column whose cells all hold two word groups around the same empty strip."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((100, 100), "Age", fontsize=9)
    page.insert_text((200, 100), "White", fontsize=9)
    page.insert_text((330, 100), "Total", fontsize=9)
    for r in range(5):
        y = 115 + 12 * r
        for x, text in ((100, f"{r}0-{r}9"), (180, f"{r},101"), (240, f"{r},202"), (330, f"{r},303")):
            page.insert_text((x, y), text, fontsize=9)
    words = page.get_text("words")
    merged = PageTable(pymupdf.Rect(95, 90, 370, 175),
                       [Cell(r, c, 1, 1, pymupdf.Rect(x0, 90 + 12 * r, x1, 102 + 12 * r))
                        for r in range(6) for c, (x0, x1) in enumerate(((95, 170), (170, 320), (320, 370)))],
                       6, 3)
    index = WordIndex(words)
    split = split_merged_columns(merged, index)
    fill_text(split, index)
    assert split.html() == ('<table><tr><td>Age</td><td colspan="2">White</td><td>Total</td></tr>' + "".join(
        f"<tr><td>{r}0-{r}9</td><td>{r},101</td><td>{r},202</td><td>{r},303</td></tr>" for r in range(5))
        + "</table>")
    fill_text(merged, index)
    assert merged.html().count("<td>0,101 0,202</td>") == 1  # without the repair: one cell


def test_500_cell_table_text_by_spatial_index():
    """Every word of a 50×10 grid lands in its own cell (the index is exact, not a guess)."""
    doc = pymupdf.open()
    page = doc.new_page(width=700, height=900)
    rows = [[f"r{r}c{c}" for c in range(10)] for r in range(50)]
    page.insert_htmlbox(page.rect + (20, 20, -20, -20), _html(rows), css="body {font-size: 7pt} table "
                        "{border-collapse: collapse} td {border: 0.3pt solid black; padding: 1pt 4pt}")
    table, = page_tables(page, page.get_text("words"))
    assert (table.n_rows, table.n_cols, len(table.cells)) == (50, 10, 500)
    assert table.html() == _html(rows)
    index = WordIndex(page.get_text("words"))
    assert [w[4] for w in index.inside(table.cells[0].rect | table.cells[1].rect)] == ["r0c0", "r0c1"]


def test_ruled_rows_whose_cells_wrap_stay_one_row():
    """`refine` splits a ruled row whose cells wrap onto a second line into two rows; no rule lies between
    them, so the repair joins them again."""
    rows = [[f"r{r}c{c} x" for c in range(10)] for r in range(8)]
    doc = pymupdf.open()
    page = doc.new_page(width=700, height=900)
    page.insert_htmlbox(page.rect + (20, 20, -20, -20), _html(rows), css="body {font-size: 7pt} table "
                        "{border-collapse: collapse} td {border: 0.3pt solid black; padding: 1pt 4pt}")
    words = page.get_text("words")
    assert page_tables(page, words, repair=False)[0].n_rows == 15  # the engine alone
    assert page_tables(page, words)[0].html() == _html(rows)


@pytest.mark.slow
def test_icdar2013_mean_teds_and_none_missed(shared_fixtures):
    from data_prep.pdfs.table_eval import evaluate

    result = evaluate(shared_fixtures / "icdar2013",
                      lambda page, words: [(t.bbox, t.html()) for t in page_tables(page, words)])
    assert len(result.scores) == 19
    assert result.missed == 0
    assert result.mean_teds >= 0.90
    assert round(result.mean_teds, 3) == 0.934


def test_table_engine_option_and_no_mixing_in_one_folder(tmp_path, prep, jsonl, capsys):
    page = _page(_html(_ROWS), _STYLES["unruled"])
    page.parent.save(tmp_path / "unruled.pdf")
    out = tmp_path / "ds"
    assert prep("pdfs", tmp_path / "unruled.pdf", "--out", out, "--val-fraction", 0, "--table-engine", "lines") == 0
    assert jsonl(out / "train.jsonl")[0]["stats"]["tables"] == 0  # the ruling-line finder sees no table
    assert prep("pdfs", tmp_path / "unruled.pdf", "--out", out, "--val-fraction", 0) == 2
    assert "table_engine differ" in capsys.readouterr().err
    assert prep("pdfs", tmp_path / "unruled.pdf", "--out", tmp_path / "ds2", "--val-fraction", 0) == 0
    assert jsonl(tmp_path / "ds2" / "train.jsonl")[0]["markdown"].endswith(_html(_ROWS))


def test_a_one_column_table_is_text_not_a_table(monkeypatch):
    """The engine reads a book index's column of entries as a one-column table (seen on a Texinfo manual's
    index pages); one column is a list, so it stays text."""
    import data_prep.pdfs.tables as tables

    page = _page(_html(_ROWS), _STYLES["unruled"])
    words = page.get_text("words")
    assert len(page_tables(page, words)) == 1
    one_column = PageTable(pymupdf.Rect(72, 110, 540, 400), [Cell(r, 0, 1, 1, pymupdf.Rect(72, 110 + 20 * r, 540,
                                                                                           130 + 20 * r))
                                                             for r in range(5)], 5, 1)
    monkeypatch.setattr(tables, "from_engine", lambda found: one_column)
    assert page_tables(page, words) == []
    assert "<table>" not in silver_page(page).markdown


def test_hyphenation_is_undone_inside_cells():
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_htmlbox(pymupdf.Rect(72, 72, 400, 300), "<table><tr><td>Term</td><td>Note</td></tr><tr><td>p</td>"
                        "<td>the mo-<br>mentum</td></tr><tr><td>q</td><td>a state-of-the-<br>art value</td></tr></table>",
                        css="table {border-collapse: collapse} td {border: 0.5pt solid black; padding: 2pt}")
    assert silver_page(page).markdown == ("<table><tr><td>Term</td><td>Note</td></tr><tr><td>p</td><td>the momentum"
                                          "</td></tr><tr><td>q</td><td>a state-of-the-art value</td></tr></table>")
