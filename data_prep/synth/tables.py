"""Random tables with merged cells, and their two HTML forms: the ground truth and the printed page.

A table is a list of rows of origin cells (a cell covered by a span is absent from its row), with
`header_rows` header rows on top. Generated shapes: one- or two-level headers (`colspan` group headers over
`rowspan` single headers), `rowspan` group labels in the first column, full-width section rows, merged
body cells, numeric and text columns, empty cells, 1–40 body rows. Tables split between pages only at row
boundaries that no `rowspan` crosses, and every piece repeats the header rows (`Table.piece`).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from data_prep.synth import text as synth_text


@dataclass(frozen=True)
class Cell:
    text: str
    rowspan: int = 1
    colspan: int = 1
    header: bool = False
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[Cell, ...], ...]
    n_cols: int
    header_rows: int
    style: str = "grid"  # grid | rules | zebra
    body_groups: tuple[tuple[int, int], ...] = field(default=())  # [start, end) row ranges, body rows only

    @property
    def merged_cells(self) -> int:
        return sum(1 for row in self.rows for c in row if c.rowspan > 1 or c.colspan > 1)

    def gt_html(self) -> str:
        """The output convention: `<table><tr><td>` only, span attributes only, no whitespace."""
        return "<table>" + "".join(
            "<tr>" + "".join(f"<td{_spans(c)}>{c.text}</td>" for c in row) + "</tr>" for row in self.rows
        ) + "</table>"

    def render_html(self) -> str:
        """What the page prints: the same grid, with classes the document's CSS styles."""
        out = [f'<table class="{self.style}">']
        for r, row in enumerate(self.rows):
            cls = "hrow" if r < self.header_rows else ("odd" if (r - self.header_rows) % 2 else "even")
            cells = []
            for c in row:
                kind = "h" if c.header else ("n" if c.numeric else "t")
                cells.append(f'<td class="{kind}"{_spans(c)}>{c.text}</td>')
            out.append(f'<tr class="{cls}">' + "".join(cells) + "</tr>")
        out.append("</table>")
        return "".join(out)

    def cell_texts(self) -> list[str]:
        return [c.text for row in self.rows for c in row if c.text]

    def piece(self, first_group: int, end_group: int) -> "Table":
        """Header rows + the body rows of groups [first_group, end_group): one page's part of the table."""
        groups = self.body_groups[first_group:end_group]
        a, b = groups[0][0], groups[-1][1]
        rows = self.rows[: self.header_rows] + self.rows[self.header_rows + a: self.header_rows + b]
        shifted = tuple((s - a, e - a) for s, e in groups)
        return Table(rows, self.n_cols, self.header_rows, self.style, shifted)


def _spans(c: Cell) -> str:
    return (f' colspan="{c.colspan}"' if c.colspan > 1 else "") + (f' rowspan="{c.rowspan}"' if c.rowspan > 1 else "")


def _body_rows_count(rng: random.Random, lo: int, hi: int) -> int:
    """Mostly short tables, a fair share of long ones (long numeric tables are where models loop)."""
    r = rng.random()
    band = (1, 10) if r < 0.6 else ((11, 24) if r < 0.85 else (25, 40))
    a, b = max(lo, band[0]), min(hi, band[1])
    return rng.randint(a, b) if a <= b else rng.randint(lo, hi)


def random_table(rng: random.Random, n_cols: int, rows: tuple[int, int], merge_prob: float) -> Table:
    n_body = _body_rows_count(rng, rows[0], rows[1])
    merged = rng.random() < merge_prob
    numeric = rng.random() < 0.65  # numeric columns after the label column
    header_rows = 0 if rng.random() < 0.08 else (2 if merged and n_cols >= 3 and rng.random() < 0.6 else 1)
    grid: list[list[Cell]] = [_header(rng, n_cols)] if header_rows == 1 else []
    if header_rows == 2:
        grid.extend(_two_level_header(rng, n_cols))
    groups: list[tuple[int, int]] = []
    r = 0
    while r < n_body:
        left = n_body - r
        if merged and n_cols >= 3 and left >= 2 and rng.random() < 0.25:
            span = min(left, rng.randint(2, 3))
            for k in range(span):
                row = [Cell(synth_text.cell_text(rng), rowspan=span)] if k == 0 else []
                row.extend(_data_row(rng, n_cols - 1, numeric, merged))
                grid.append(row)
            groups.append((r, r + span))
            r += span
            continue
        if merged and left >= 1 and r > 0 and rng.random() < 0.06:
            grid.append([Cell(synth_text.cell_text(rng), colspan=n_cols)])  # a section row
        else:
            grid.append([Cell(synth_text.cell_text(rng))] + _data_row(rng, n_cols - 1, numeric, merged))
        groups.append((r, r + 1))
        r += 1
    # Without inner rules a merged body cell looks exactly like a cell beside empty ones: the "rules"
    # (booktabs) style is only for tables whose body has no spans (header spans keep their rule).
    body_merged = any(c.rowspan > 1 or c.colspan > 1 for row in grid[header_rows:] for c in row)
    style = rng.choice(("grid", "zebra") if body_merged else ("grid", "grid", "rules", "zebra"))
    table = Table(tuple(tuple(row) for row in grid), n_cols, header_rows, style, tuple(groups))
    problem = grid_problem(table)
    assert problem is None, problem  # the generator's own invariant
    return table


def _header(rng: random.Random, n_cols: int) -> list[Cell]:
    return [Cell(synth_text.heading_text(rng).split()[0] if rng.random() < 0.3 else synth_text.cell_text(rng), header=True)
            for _ in range(n_cols)]


def _two_level_header(rng: random.Random, n_cols: int) -> list[list[Cell]]:
    """Row 0: a label cell and singles spanning both rows, groups spanning 2–3 columns; row 1: the subs."""
    top: list[Cell] = [Cell(synth_text.cell_text(rng), rowspan=2, header=True)]
    sub: list[Cell] = []
    c = 1
    while c < n_cols:
        width = rng.randint(2, 3) if n_cols - c >= 2 and rng.random() < 0.7 else 1
        width = min(width, n_cols - c)
        if width == 1:
            top.append(Cell(synth_text.cell_text(rng), rowspan=2, header=True))
        else:
            top.append(Cell(str(rng.randint(2015, 2025)) if rng.random() < 0.5 else synth_text.cell_text(rng),
                            colspan=width, header=True))
            labels = rng.choice((["Q1", "Q2", "Q3"], ["Mean", "SD", "N"], ["Low", "Mid", "High"], ["A", "B", "C"]))
            sub.extend(Cell(labels[k], header=True) for k in range(width))
        c += width
    return [top, sub]


def _data_row(rng: random.Random, n: int, numeric: bool, merged: bool) -> list[Cell]:
    cells: list[Cell] = []
    c = 0
    while c < n:
        if rng.random() < 0.05:
            cells.append(Cell(""))  # an empty cell
        elif merged and n - c >= 2 and rng.random() < 0.04:
            cells.append(Cell(synth_text.cell_text(rng), colspan=2))
            c += 2
            continue
        elif numeric or rng.random() < 0.3:
            cells.append(Cell(synth_text.number(rng), numeric=True))
        else:
            cells.append(Cell(synth_text.cell_text(rng)))
        c += 1
    return cells


def grid_problem(table: Table) -> str | None:
    """None if the cells tile the n_cols-wide grid exactly (no overlaps, no holes), else what is wrong."""
    n_rows = len(table.rows)
    occupied = [[False] * table.n_cols for _ in range(n_rows)]
    for r, row in enumerate(table.rows):
        c = 0
        for cell in row:
            while c < table.n_cols and occupied[r][c]:
                c += 1
            if c + cell.colspan > table.n_cols or r + cell.rowspan > n_rows:
                return f"row {r}: a cell at column {c} spans past the table"
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    if occupied[r + dr][c + dc]:
                        return f"row {r}: overlapping cells at column {c + dc}"
                    occupied[r + dr][c + dc] = True
            c += cell.colspan
    for r, flags in enumerate(occupied):
        if not all(flags):
            return f"row {r}: {flags.count(False)} uncovered column(s)"
    return None
