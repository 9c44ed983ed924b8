"""rewards.tables.structure and rewards.tables.grid: closure on raw tags, grid consistency with spans,
validity and cell alignment numbers, positions, and bounded time on adversarial input."""
from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewards.tables.html import parse_table
from rewards.tables.grid import grid_span, normalize_cell_text, table_grid
from rewards.tables.structure import CLOSURE_KINDS, cell_alignment, check_table, table_validity

GOOD = "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td></tr></table>"


def kinds(html: str) -> list[tuple[str, int]]:
    return [(i.kind, i.pos) for i in check_table(html).issues]


def test_well_formed_table_is_valid() -> None:
    c = check_table(GOOD)
    assert (c.closed, c.rectangular, c.validity, c.shapes, c.issues) == (True, True, 1.0, ((2, 2),), ())
    spans = "<table><tr><td rowspan=2>a</td><td colspan=2>b</td></tr><tr><td>c</td><td>d</td></tr></table>"
    assert check_table(spans).validity == 1.0 and check_table(spans).shapes == ((2, 3),)


# ---------------------------------------------------------------- closure on the raw tag sequence


def test_unclosed_cells_rows_and_table_are_found_where_they_open() -> None:
    html = "<table><tr><td>a<td>b</tr><tr><td>c</td>"
    assert sorted(kinds(html)) == [("ragged_row", 26), ("unclosed_cell", 11), ("unclosed_cell", 16),
                                   ("unclosed_row", 26), ("unclosed_table", 0)]
    c = check_table(html)
    # Opened: table, tr, td, td, tr, td = 6; explicitly closed: the first </tr> and the last </td>.
    assert c.closure == pytest.approx(2 / 6)
    assert not c.closed and not c.rectangular  # rows of width 2 and 1 (ties go to the wider)
    assert c.validity == pytest.approx(2 / 6 * 1 / 2)


def test_lxml_repair_does_not_hide_closure_issues() -> None:
    html = "<table><tr><td>a<td>b</table>"
    root = parse_table(html)
    assert len(root.xpath(".//td")) == 2  # lxml closes everything silently
    assert kinds(html) == [("unclosed_row", 7), ("unclosed_cell", 11), ("unclosed_cell", 16)]


def test_stray_and_misplaced_tags() -> None:
    assert kinds("x</td></table>") == [("stray_close", 1), ("stray_close", 6)]
    assert kinds("<td>a</td>") == [("outside_table", 0)]
    assert kinds("<table><td>a</td></table>") == [("cell_outside_row", 7)]
    assert check_table("<table><td>a</td></table>").consistency == 0.0  # the implied row
    assert check_table("x</td></table>").closure == 0.0


def test_an_end_tag_closes_past_an_unclosed_nested_table() -> None:
    html = "<table><tr><td><table><tr><td>x</td></tr></td></tr></table>"
    assert kinds(html) == [("unclosed_table", 15)]
    assert check_table(html).closure == pytest.approx(5 / 6)
    assert check_table(html).shapes == ((1, 1), (1, 1))


def test_comments_and_script_are_not_tags() -> None:
    assert check_table("<table><!-- <tr> --><tr><td>a</td></tr><script>'<td>'</script></table>").closed


# ---------------------------------------------------------------- grid consistency


def test_ragged_row_is_the_one_that_differs_from_the_common_width() -> None:
    html = "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr><tr><td>d</td><td>e</td></tr></table>"
    assert kinds(html) == [("ragged_row", html.index("<tr><td>c"))]
    c = check_table(html)
    assert c.closed and not c.rectangular
    assert c.consistency == pytest.approx(2 / 3) and c.validity == pytest.approx(2 / 3)


def test_overlapping_span_and_span_past_the_table() -> None:
    overlap = "<table><tr><td>a</td><td rowspan=2>b</td></tr><tr><td colspan=2>c</td></tr></table>"
    assert kinds(overlap) == [("overlapping_span", overlap.index("<td colspan"))]
    past = "<table><tr><td rowspan=3>a</td><td>b</td></tr><tr><td>c</td></tr></table>"
    assert kinds(past) == [("span_past_table", past.index("<td rowspan"))]
    assert check_table(past).consistency == 0.5


def test_malformed_spans_are_reported_but_read_like_browsers() -> None:
    html = '<table><tr><td colspan="2a">a</td></tr><tr><td>b</td><td>c</td></tr></table>'
    assert kinds(html) == [("bad_span", html.index("<td"))]
    assert check_table(html).validity == 1.0  # "2a" is read as 2, so the grid is rectangular
    assert grid_span("999999", 1000) == (1000, False)
    assert grid_span("0", 1000) == (1, False) and grid_span(" 3 ", 1000) == (3, True)


def test_grid_anchors_follow_the_html_table_model() -> None:
    html = ("<table><tr><td rowspan=2>A</td><td>B</td><td>C</td></tr><tr><td colspan=2>D</td></tr>"
            "<tr><td>E</td><td>F</td><td>G</td></tr></table>")
    grid = table_grid(parse_table(html))
    assert grid.anchors() == {(0, 0): "A", (0, 1): "B", (0, 2): "C", (1, 1): "D", (2, 0): "E", (2, 1): "F",
                              (2, 2): "G"}
    assert [r.slots for r in grid.rows] == [3, 3, 3] and grid.width == 3


# ---------------------------------------------------------------- cell alignment


def test_cell_alignment_numbers() -> None:
    gt = "<table><tr><td>a</td><td>b</td><td>c</td></tr><tr><td>1</td><td>2</td><td>3</td></tr></table>"
    assert cell_alignment(gt, gt) == 1.0
    assert cell_alignment(gt.replace(">2<", ">x<"), gt) == pytest.approx(5 / 6)
    # A dropped first cell shifts the rest of its row: 3 of 6 still at their anchor.
    assert cell_alignment(gt.replace("<td>a</td>", ""), gt) == pytest.approx(3 / 6)
    assert cell_alignment(gt.replace("<td>1</td>", "<td> 1\u00a0</td>"), gt) == 1.0  # whitespace normalized
    assert cell_alignment(gt.replace(">a<", ">A<"), gt) == pytest.approx(5 / 6)  # case is kept
    merged = gt.replace("<td>b</td><td>c</td>", '<td colspan="2">b</td>')
    assert cell_alignment(merged, gt) == pytest.approx(5 / 6)  # c's anchor is gone
    longer = gt.replace("</table>", "<tr><td>x</td></tr></table>")
    assert cell_alignment(longer, gt) == 1.0  # extra predicted rows hold no ground-truth anchor
    assert cell_alignment(gt, longer) == pytest.approx(6 / 7)
    assert cell_alignment("no table", gt) == 0.0
    assert cell_alignment("no table", "none") == 1.0 and cell_alignment(gt, "none") == 0.0


def test_normalization() -> None:
    assert normalize_cell_text(" ｘ\u00a0\n y ") == "x y"


# ---------------------------------------------------------------- properties and bounds


@settings(max_examples=120, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(st.sampled_from(
    ["<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th>", "</th>", "<tbody>", "</tbody>",
     '<td rowspan="3">', '<td colspan="2a">', "x", "<!--", "\ud800"]), max_size=40).map("".join)))
def test_never_raises_and_stays_in_unit_interval(html: str) -> None:
    c = check_table(html)
    assert 0.0 <= c.closure <= 1.0 and 0.0 <= c.consistency <= 1.0
    assert table_validity(html) == c.validity
    assert c.closed == (not any(i.kind in CLOSURE_KINDS for i in c.issues))
    assert all(0 <= i.pos <= len(html) for i in c.issues)
    assert cell_alignment(html, html) == 1.0
    assert 0.0 <= cell_alignment(html, GOOD) <= 1.0


@pytest.mark.parametrize("html", [
    "<table><tr><td>" + "<div>" * 10_000 + "x</td></tr></table>",
    '<table><tr><td colspan="999999" rowspan="999999">a</td></tr><tr><td>b</td></tr></table>',
    "<table><tr>" + "<td>1</td>" * 100_000 + "</tr></table>",
    "<table>" + ("<tr>" + "<td>12.5</td>" * 10 + "</tr>") * 7_000,
    "<table><tr><td>" * 10_000,
], ids=["deep", "huge spans", "1 MB row", "1 MB table unclosed", "nested"])
def test_adversarial_inputs_return_in_bounded_time(html: str) -> None:
    start = time.process_time()
    c = check_table(html)
    align = cell_alignment(html, GOOD)
    assert 0.0 <= c.validity <= 1.0 and 0.0 <= align <= 1.0
    assert time.process_time() - start < 6.0  # documented: 2 s per call for 1 MB; 3x margin for CI load
