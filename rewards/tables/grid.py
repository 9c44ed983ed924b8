"""The logical grid of an HTML table: where each cell sits once row and column spans are expanded.

Placement follows the HTML table model: rows are the table's ``tr`` elements in document order (those in
thead/tbody/tfoot included, those of tables nested in cells not); each cell takes the first free slot at
or after the current column of its row, and a cell with ``rowspan`` > 1 occupies that slot range in the
rows below. What the model gets wrong is recorded, not repaired away:

- ``overlap``: a cell covers a slot already taken by a row-spanning cell from above;
- ``past_end``: rows a ``rowspan`` asks for beyond the table's last row (the span is clipped there);
- ``bad_span``: a span value that is not a plain positive integer (read as its leading digits, else 1);
- ``implied``: cells that sit directly in the table or a section, outside any ``tr`` (one implied row per
  run, as browsers do).

Spans are clamped as the HTML standard does (colspan <= 1000, rowspan <= 65534) and a table is cut at
``MAX_GRID_COLUMNS`` columns, so the grid of any input is built in time linear in its cells: occupancy is
a Python int bitmask per row, and a row-spanning cell costs O(1) (it is added once and removed once).
After an overlap, occupancy can be approximate for the overlapping slots; the overlap itself is reported.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

from lxml import etree

from rewards.tables.html import CELL_TAGS, SECTION_TAGS

MAX_COLSPAN, MAX_ROWSPAN = 1000, 65534  # the HTML standard's clamps
MAX_GRID_COLUMNS = 4096
_PLAIN_INT = re.compile(r"\s*\+?0*[1-9]\d*\s*")
_LEADING = re.compile(r"\s*\+?0*(\d{1,9})")


def normalize_cell_text(text: str) -> str:
    """NFKC, every whitespace run (NBSP and newlines included) to one space, ends stripped. Case is kept:
    a wrong letter case is an OCR error."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def grid_span(value: str | None, limit: int) -> tuple[int, bool]:
    """(span, well_formed) the way browsers read it: leading digits, 0 or none -> 1, clamped to limit."""
    if value is None:
        return 1, True
    m = _LEADING.match(value)
    n = int(m.group(1)) if m else 1
    return min(max(n, 1), limit), bool(_PLAIN_INT.fullmatch(value)) and n <= limit


@dataclass(frozen=True, slots=True)
class GridCell:
    row: int
    col: int  # the anchor: top-left slot after span expansion
    rowspan: int  # as placed (clamped, clipped at the table's last row)
    colspan: int
    text: str  # normalize_cell_text of the cell's text
    element: etree._Element
    overlap: bool = False
    past_end: int = 0  # rows asked for beyond the last row
    bad_span: bool = False


@dataclass(frozen=True, slots=True)
class GridRow:
    element: etree._Element | None  # None for an implied row
    cells: tuple[GridCell, ...]
    slots: int  # slots of this row covered by its own cells or by row spans from above


@dataclass(frozen=True, slots=True)
class TableGrid:
    rows: tuple[GridRow, ...]
    cut: bool  # True if columns beyond MAX_GRID_COLUMNS were dropped

    @property
    def width(self) -> int:
        """The row width most rows have (ties: the larger); 0 for a table without rows."""
        counts = Counter(r.slots for r in self.rows)
        return max(counts, key=lambda w: (counts[w], w)) if counts else 0

    def cells(self) -> list[GridCell]:
        return [c for r in self.rows for c in r.cells]

    def anchors(self) -> dict[tuple[int, int], str]:
        return {(c.row, c.col): c.text for c in self.cells()}


def _row_elements(table: etree._Element) -> list[tuple[etree._Element | None, list[etree._Element]]]:
    """(tr or None for an implied row, its cells) in document order, sections expanded in place."""
    rows: list[tuple[etree._Element | None, list[etree._Element]]] = []
    stray: list[etree._Element] = []

    def flush() -> None:
        if stray:
            rows.append((None, stray.copy()))
            stray.clear()

    def visit(container: etree._Element, top: bool) -> None:
        for child in container:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "tr":
                flush()
                rows.append((child, [c for c in child if isinstance(c.tag, str) and c.tag in CELL_TAGS]))
            elif tag in CELL_TAGS:
                stray.append(child)
            elif top and tag in SECTION_TAGS:
                flush()
                visit(child, False)
                flush()

    visit(table, True)
    flush()
    return rows


def table_grid(table: etree._Element, *, with_text: bool = True, max_rows: int | None = None) -> TableGrid:
    """Place every cell of ``table`` (an lxml table element) on the grid; see the module docstring.
    ``with_text=False`` leaves every ``text`` empty (structure checks do not read it); ``max_rows`` stops
    after that many rows (the anchors of those rows do not depend on later ones)."""
    rows = _row_elements(table)
    n_rows = len(rows)
    rows = rows[:max_rows] if max_rows is not None else rows
    active = 0  # slots of the current row covered by row spans from above
    ends: dict[int, list[int]] = defaultdict(list)  # row -> masks whose span stops before it
    out: list[GridRow] = []
    cut = False
    for r, (row_el, cell_els) in enumerate(rows):
        for mask in ends.pop(r, ()):
            active &= ~mask
        own, col, starting = 0, 0, 0
        cells = []
        for el in cell_els:
            colspan, ok_c = grid_span(el.get("colspan"), MAX_COLSPAN)
            rowspan, ok_r = grid_span(el.get("rowspan"), MAX_ROWSPAN)
            occupied = active | own
            free = ~(occupied >> col)
            col += (free & -free).bit_length() - 1  # first free slot at or after col
            if col >= MAX_GRID_COLUMNS:
                cut = True
                break
            if col + colspan > MAX_GRID_COLUMNS:
                cut, colspan = True, MAX_GRID_COLUMNS - col
            mask = ((1 << colspan) - 1) << col
            placed = min(rowspan, n_rows - r)
            text = normalize_cell_text("".join(el.itertext())) if with_text else ""
            cells.append(GridCell(r, col, placed, colspan, text, el,
                                  bool(occupied & mask), rowspan - placed, not (ok_c and ok_r)))
            own |= mask
            if placed > 1:
                starting |= mask
                ends[r + placed].append(mask)
            col += colspan
        out.append(GridRow(row_el, tuple(cells), (active | own).bit_count()))
        active |= starting
    return TableGrid(tuple(out), cut)
