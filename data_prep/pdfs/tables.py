"""Tables of a born-digital PDF page as HTML in the output convention.

Engine (chosen by measurement on the ICDAR 2013 fixture, see docs/pdf-labels.md): PyMuPDF's
`find_tables(union=True, refine=True)`. `union` fuses the table grids of PyMuPDF's ONNX layout model with
the ruling-line candidates, so booktabs, header-rule-only, zebra and unruled tables are found as well as
fully ruled grids (union always runs the layout model: `use_layout` does not apply to it, and without the
model's grids unruled tables are missed; it is also most of the cost); `refine` turns
the raw cells into a grid of placements with `colspan`/`rowspan`. On top of the engine:

- Cell text comes from the page's words, not the engine's own cell text (which drops the spaces between
  words: `2-11months`). Each word goes to the cell holding its centre through a bucket grid over the page,
  so the cost is linear in words + cells instead of words × cells.
- `split_merged_columns`: a column in which most cells hold two word groups around the same empty
  vertical strip is two columns the engine merged (`Male Female` under one header); it is split, and the
  cells that cross the strip (a header over both) get a `colspan`.
- `merge_rows_between_rules`: rows with no rule between them inside a ruled row grid are one row whose
  cells wrap (refine splits them).
- `merge_ruled_boxes`: the engine's cells inside one ruled merged box, at most one holding text, are one
  cell (refine sometimes splits a ruled rowspan).
- The HTML writes every cell as `<td>` (the convention has no `<th>`), text HTML-escaped with `$` escaped.
"""
from __future__ import annotations

import bisect
import html as html_lib
from collections import defaultdict
from dataclasses import dataclass

import pymupdf

from data_prep.config import TABLE_ENGINES
from data_prep.pdfs.hyphenation import join_lines, word_set

_BUCKET = 12.0  # points: about one line of table text, so a cell looks at a handful of buckets


@dataclass
class Cell:
    row: int
    col: int
    rowspan: int
    colspan: int
    rect: pymupdf.Rect
    text: str = ""


@dataclass
class PageTable:
    bbox: pymupdf.Rect
    cells: list[Cell]
    n_rows: int
    n_cols: int

    @property
    def merged_cells(self) -> int:
        return sum(1 for c in self.cells if c.rowspan > 1 or c.colspan > 1)

    def html(self) -> str:
        rows: list[list[str]] = [[] for _ in range(self.n_rows)]
        for c in sorted(self.cells, key=lambda c: (c.row, c.col)):
            attrs = (f' colspan="{c.colspan}"' if c.colspan > 1 else "") + (
                f' rowspan="{c.rowspan}"' if c.rowspan > 1 else "")
            rows[c.row].append(f"<td{attrs}>{escape_cell(c.text)}</td>")
        return "<table>" + "".join("<tr>" + "".join(r) + "</tr>" for r in rows) + "</table>"


def escape_cell(text: str) -> str:
    """HTML-escaped, and a `$` is a dollar sign, not math."""
    return html_lib.escape(text, quote=False).replace("$", r"\$")


ENGINES = TABLE_ENGINES


def page_tables(page: pymupdf.Page, words: list[tuple], *, engine: str = "union_refine",
                repair: bool = True) -> list[PageTable]:
    """Every table on the page, cells filled with the page's words (PyMuPDF `get_text("words")` tuples).

    `engine`: "union_refine" (the default, see the module docstring) or "lines", the ruling-line finder
    alone (what the labeller used before; kept for the benchmark). `repair`: split merged columns and
    merge the cells of a ruled box."""
    if engine not in ENGINES:
        raise ValueError(f"unknown table engine {engine!r} (known: {', '.join(ENGINES)})")
    index = WordIndex(words)
    ruled = [from_cells(f) for f in page.find_tables(use_layout=False).tables]
    if engine == "lines":
        found = ruled
    else:
        found = [from_engine(f) for f in page.find_tables(union=True, refine=True).tables]
    boxes = [c.rect for t in ruled if t is not None for c in t.cells if c.rowspan > 1 or c.colspan > 1]
    out = []
    for table in found:
        if table is None or table.n_cols < 2:  # one column is a list (a book index), not a table
            continue
        if repair and engine == "union_refine":
            table = split_merged_columns(table, index)
            table = merge_rows_between_rules(table, [t for t in ruled if t is not None])
            table = merge_ruled_boxes(table, boxes, index)
        fill_text(table, index)
        out.append(table)
    return out


def from_cells(found) -> PageTable | None:
    """A ruling-line table: each cell's grid position from its box against the table's distinct cell
    edges, so a merged cell gets its colspan/rowspan."""
    rects = [pymupdf.Rect(c) for c in found.cells if c is not None]
    if not rects:
        return None
    xs = _edges([v for c in rects for v in (c.x0, c.x1)])
    ys = _edges([v for c in rects for v in (c.y0, c.y1)])
    if len(xs) < 2 or len(ys) < 2:
        return None
    cells, seen = [], set()
    for c in rects:
        r0, r1 = bisect_nearest(ys, c.y0), bisect_nearest(ys, c.y1)
        c0, c1 = bisect_nearest(xs, c.x0), bisect_nearest(xs, c.x1)
        if r1 > r0 and c1 > c0 and (r0, c0) not in seen:
            seen.add((r0, c0))
            cells.append(Cell(r0, c0, r1 - r0, c1 - c0, c))
    return PageTable(pymupdf.Rect(found.bbox), cells, len(ys) - 1, len(xs) - 1) if cells else None


def _edges(values: list[float], tol: float = 1.5) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def bisect_nearest(edges: list[float], v: float) -> int:
    """Index of the edge nearest to v (edges sorted)."""
    i = bisect.bisect_left(edges, v)
    if i == 0:
        return 0
    if i == len(edges):
        return len(edges) - 1
    return i if edges[i] - v < v - edges[i - 1] else i - 1


def from_engine(found) -> PageTable | None:
    """The engine's placement grid as cells with explicit (row, col); None for a degenerate table."""
    grid = found.placements
    if grid is None:  # no span placements: the flat cell grid, one cell per position
        grid = [[_Flat(c) for c in row.cells] for row in found.rows]
    cells: list[Cell] = []
    taken: set[tuple[int, int]] = set()
    n_cols = 0
    for r, row in enumerate(grid):
        col = 0
        for placed in row:
            while (r, col) in taken:  # positions covered by a rowspan from above
                col += 1
            if placed.bbox is None:
                col += placed.colspan
                continue
            cells.append(Cell(r, col, placed.rowspan, placed.colspan, pymupdf.Rect(placed.bbox)))
            for dr in range(placed.rowspan):
                for dc in range(placed.colspan):
                    taken.add((r + dr, col + dc))
            col += placed.colspan
        n_cols = max(n_cols, col)
    if not cells or n_cols < 1:
        return None
    return PageTable(pymupdf.Rect(found.bbox), cells, len(grid), n_cols)


class _Flat:
    def __init__(self, bbox) -> None:
        self.bbox, self.rowspan, self.colspan = bbox, 1, 1


class WordIndex:
    """Words bucketed by their centre on a `_BUCKET`-point grid: `inside(rect)` looks only at the buckets
    the rectangle overlaps."""

    def __init__(self, words: list[tuple]) -> None:
        self.words = words
        self.vocabulary = word_set(words)  # for the hyphenation rule
        self.buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, w in enumerate(words):
            self.buckets[(int((w[0] + w[2]) / 2 // _BUCKET), int((w[1] + w[3]) / 2 // _BUCKET))].append(i)

    def inside(self, rect: pymupdf.Rect) -> list[tuple]:
        found = []
        for bx in range(int(rect.x0 // _BUCKET), int(rect.x1 // _BUCKET) + 1):
            for by in range(int(rect.y0 // _BUCKET), int(rect.y1 // _BUCKET) + 1):
                for i in self.buckets.get((bx, by), ()):
                    w = self.words[i]
                    cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
                    if rect.x0 <= cx < rect.x1 and rect.y0 <= cy < rect.y1:
                        found.append(w)
        found.sort(key=lambda w: (w[5], w[6], w[7]))  # block, line, word number: reading order
        return found


def fill_text(table: PageTable, index: WordIndex) -> None:
    """Each cell's words, line by line, with line-end hyphenation undone as in paragraphs."""
    for c in table.cells:
        lines: dict[tuple[int, int], list[str]] = {}
        for w in index.inside(c.rect):
            lines.setdefault((w[5], w[6]), []).append(w[4])
        c.text = join_lines([" ".join(ws) for ws in lines.values()], index.vocabulary)


def split_merged_columns(table: PageTable, index: WordIndex, min_gap: float = 4.0) -> PageTable:
    """Split every column that is two columns the engine merged: a vertical strip at least `min_gap` wide
    is empty in at least 80 % of the column's non-empty cells, and at least half of them hold words on
    both sides of it. Cells whose words cross the strip (a header over both halves) span both."""
    for col in reversed(range(table.n_cols)):
        cut = _column_cut(table, col, index, min_gap)
        if cut is not None:
            table = _split_at(table, col, cut, index)
    return table


def _column_cut(table: PageTable, col: int, index: WordIndex, min_gap: float) -> float | None:
    single = [c for c in table.cells if c.col == col and c.colspan == 1]
    filled = [(c, index.inside(c.rect)) for c in single]
    filled = [(c, ws) for c, ws in filled if ws]
    if len(filled) < 3:
        return None
    x0, x1 = max(c.rect.x0 for c, _ in filled), min(c.rect.x1 for c, _ in filled)
    steps = int((x1 - x0) / _STEP)
    if steps < 3:
        return None
    free = [0] * steps  # per sample x: in how many cells it falls between words
    for _, words in filled:
        for a, b in _gaps(sorted((w[0], w[2]) for w in words), x0, x1):
            for k in range(max(0, int((a - x0) / _STEP) + 1), min(steps, int((b - x0) / _STEP))):
                free[k] += 1
    need = 0.8 * len(filled)
    best: tuple[float, float] | None = None
    k = 0
    while k < steps:  # the widest run of samples free in enough cells
        if free[k] >= need:
            j = k
            while j + 1 < steps and free[j + 1] >= need:
                j += 1
            run = (x0 + k * _STEP, x0 + (j + 1) * _STEP)
            if best is None or run[1] - run[0] > best[1] - best[0]:
                best = run
            k = j + 1
        else:
            k += 1
    if best is None or best[1] - best[0] < min_gap:
        return None
    cut = (best[0] + best[1]) / 2
    both = sum(1 for _, ws in filled if min(_mid_x(w) for w in ws) < best[0] and max(_mid_x(w) for w in ws) > best[1])
    return cut if both >= max(2, len(filled) / 2) else None


_STEP = 0.5  # points: resolution of the empty-strip search


def _mid_x(w: tuple) -> float:
    return (w[0] + w[2]) / 2


def _gaps(spans: list[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    """The parts of [lo, hi] between the first and the last of the sorted x-spans that none covers
    (the margins left and right of a cell's text are not gaps: they say nothing about a split)."""
    gaps, reach = [], None
    for a, b in spans:
        if reach is not None and a > reach:
            gaps.append((max(reach, lo), min(a, hi)))
        reach = b if reach is None else max(reach, b)
    return [(a, b) for a, b in gaps if b > a]


def merge_rows_between_rules(table: PageTable, ruled: list[PageTable], tol: float = 2.5) -> PageTable:
    """Join the engine's rows that lie between two horizontal rules of a ruled table covering the same
    region: `refine` splits a ruled row whose cells wrap onto two lines into two rows. Rows are joined
    only where each holds cells at the same columns with the same spans and no rowspan starts inside."""
    # A ruled table with far fewer rows is a frame with a few rules (ICDAR us-033), not a row grid.
    same = [r for r in ruled if _same_region(r.bbox, table.bbox) and 2 * r.n_rows >= table.n_rows]
    if not same or table.n_rows < 2:
        return table
    rules = sorted({c.rect.y0 for c in same[0].cells} | {c.rect.y1 for c in same[0].cells})
    tops = [min((c.rect.y0 for c in table.cells if c.row == r), default=None) for r in range(table.n_rows)]
    band = [0] * table.n_rows
    for r in range(1, table.n_rows):
        y = tops[r]
        ruled_here = y is None or any(abs(y - rule) <= tol for rule in rules)
        band[r] = band[r - 1] + (1 if ruled_here or not _joinable(table, r - 1, r) else 0)
    if band[-1] == table.n_rows - 1:
        return table
    merged: dict[tuple[int, int], Cell] = {}
    for c in sorted(table.cells, key=lambda c: (c.row, c.col)):
        row, last = band[c.row], band[c.row + c.rowspan - 1]
        key = (row, c.col)
        if key in merged:  # the same column's cell of a joined row: one cell over both
            merged[key].rect = merged[key].rect | c.rect
        else:
            merged[key] = Cell(row, c.col, last - row + 1, c.colspan, pymupdf.Rect(c.rect))
    return PageTable(table.bbox, list(merged.values()), band[-1] + 1, table.n_cols)


def _joinable(table: PageTable, upper: int, lower: int) -> bool:
    def layout(r: int) -> set[tuple[int, int]]:
        return {(c.col, c.colspan) for c in table.cells if c.row == r}

    starts = [c for c in table.cells if c.row in (upper, lower)]
    return layout(upper) == layout(lower) and all(c.rowspan == 1 for c in starts)


def _same_region(a: pymupdf.Rect, b: pymupdf.Rect) -> bool:
    inter = pymupdf.Rect(a) & b
    if inter.is_empty:
        return False
    small, big = sorted((a.get_area(), b.get_area()))
    # the engine's box hugs the text while the rules sit a padding outside it: containment, similar size
    return inter.get_area() >= 0.9 * small and small >= 0.75 * big


def merge_ruled_boxes(table: PageTable, boxes: list[pymupdf.Rect], index: WordIndex) -> PageTable:
    """Merge the engine's cells that lie inside one ruled box of the ruling-line finder (a merged cell
    drawn with rules) when at most one of them holds text: refine sometimes splits a ruled rowspan into
    empty cells below its text. A box whose cells hold text in several is no merged cell (a missed rule)."""
    for box in boxes:
        inner = [c for c in table.cells if _center_in_rect(c.rect, box)]
        if len(inner) < 2 or sum(1 for c in inner if index.inside(c.rect)) > 1:
            continue
        r0, c0 = min(c.row for c in inner), min(c.col for c in inner)
        r1 = max(c.row + c.rowspan for c in inner)
        c1 = max(c.col + c.colspan for c in inner)
        if sum(c.rowspan * c.colspan for c in inner) != (r1 - r0) * (c1 - c0):
            continue  # the box's cells do not tile a rectangle of the grid
        rest = [c for c in table.cells if not any(c is i for i in inner)]
        table = PageTable(table.bbox, rest + [Cell(r0, c0, r1 - r0, c1 - c0, pymupdf.Rect(box))],
                          table.n_rows, table.n_cols)
    return table


def _center_in_rect(rect: pymupdf.Rect, box: pymupdf.Rect) -> bool:
    return box.x0 <= (rect.x0 + rect.x1) / 2 <= box.x1 and box.y0 <= (rect.y0 + rect.y1) / 2 <= box.y1


def _split_at(table: PageTable, col: int, cut: float, index: WordIndex) -> PageTable:
    cells = []
    for c in table.cells:
        if c.col > col:
            cells.append(Cell(c.row, c.col + 1, c.rowspan, c.colspan, c.rect))
        elif c.col + c.colspan - 1 < col:
            cells.append(c)
        elif c.colspan == 1 and c.col == col and not _crosses(index.inside(c.rect), cut):
            left, right = pymupdf.Rect(c.rect), pymupdf.Rect(c.rect)
            left.x1, right.x0 = cut, cut
            cells.append(Cell(c.row, col, c.rowspan, 1, left))
            cells.append(Cell(c.row, col + 1, c.rowspan, 1, right))
        else:  # a cell spanning the split column or whose words cross the cut spans both halves
            cells.append(Cell(c.row, c.col, c.rowspan, c.colspan + 1, c.rect))
    return PageTable(table.bbox, cells, table.n_rows, table.n_cols + 1)


def _crosses(words: list[tuple], cut: float) -> bool:
    return any(w[0] < cut < w[2] for w in words)
