"""Structural checks of HTML tables: closure, grid consistency, and cell alignment with ground truth.

Definitions (also in docs/tables.md, "Table structure"):

- **Closure** is judged on the RAW tag sequence (lxml silently closes whatever is left open). Tags of
  table, thead/tbody/tfoot, tr, td and th are matched with a stack, skipping comments and
  script/style/textarea/title content. A start tag that implicitly ends an open element (a new ``<td>``
  while a cell is open, a new ``<tr>`` while a row is open) leaves that element *unclosed*; an end tag
  closes the nearest open element of its name and leaves everything opened after it unclosed; an end tag
  with nothing to close is *stray*; whatever is open when the text ends is unclosed. ``closure`` =
  explicitly closed elements / (opened elements + stray end tags), 1.0 with no table tags.
- **Grid consistency** (``rewards.tables.grid``): each row's *slot count* is the number of grid slots it
  covers (its own cells plus row spans from above); the table width is the most common slot count.
  A row is *ragged* if its slot count differs from the width. A cell *overlaps* if it covers a slot
  already taken by a row span from above; a span *runs past the table* if its rowspan reaches beyond the
  last row. A row is consistent if it is not ragged, not implied (cells outside any ``tr``) and none of
  its cells overlaps or runs past the table. ``consistency`` = consistent rows / rows (1.0 with no rows).
- ``table_validity`` = closure × consistency: 1.0 exactly when every table tag is explicitly closed and
  every table is rectangular.
- **Cell alignment** (``cell_alignment``): the share of ground-truth cells (anchors after span expansion)
  for which the prediction has a cell anchored at the same (row, column) with equal normalized text
  (``table_grid.normalize_cell_text``: NFKC, whitespace runs to one space, stripped; case kept). Spans
  are not compared (TEDS-S does that). First table of each input; no ground-truth cell: 1.0 if the
  prediction has no cell either, else 0.0.

Issue positions are character offsets in the checked text (grid issues: the row's or cell's start tag,
found by pairing lxml's elements with the raw tags in document order; best-effort where lxml dropped a
tag). Nothing here raises on any string.
"""
from __future__ import annotations

from dataclasses import dataclass

from rewards.tables.html import CELL_TAGS, SECTION_TAGS, Tag, parse_document, parse_table, scan_tags
from rewards.tables.grid import TableGrid, table_grid

CLOSURE_KINDS = ("unclosed_table", "unclosed_section", "unclosed_row", "unclosed_cell", "stray_close",
                 "outside_table", "cell_outside_row")
GRID_KINDS = ("ragged_row", "overlapping_span", "span_past_table", "bad_span", "too_large")
_UNCLOSED = {"table": "unclosed_table", "tr": "unclosed_row", "td": "unclosed_cell", "th": "unclosed_cell",
             **{s: "unclosed_section" for s in SECTION_TAGS}}


@dataclass(frozen=True, slots=True)
class TableIssue:
    kind: str  # one of CLOSURE_KINDS or GRID_KINDS
    message: str
    pos: int  # character offset in the checked text


@dataclass(frozen=True, slots=True)
class TableCheck:
    n_tables: int
    shapes: tuple[tuple[int, int], ...]  # (rows, width) of each table, nested tables included
    issues: tuple[TableIssue, ...]
    closure: float
    consistency: float

    @property
    def closed(self) -> bool:
        return not any(i.kind in CLOSURE_KINDS for i in self.issues)

    @property
    def rectangular(self) -> bool:
        return self.consistency == 1.0

    @property
    def validity(self) -> float:
        return self.closure * self.consistency


def _closure(tags: list[Tag]) -> tuple[list[TableIssue], float]:
    issues: list[TableIssue] = []
    stack: list[Tag] = []
    open_count: dict[str, int] = dict.fromkeys(_UNCLOSED, 0)  # O(1) "is one open?", however deep the stack
    opened = closed = stray = 0

    def pop() -> Tag:
        tag = stack.pop()
        open_count[tag.name] -= 1
        return tag

    def unclosed(tag: Tag) -> None:
        issues.append(TableIssue(_UNCLOSED[tag.name], f"<{tag.name}> is never closed", tag.start))

    def pop_while(names: tuple[str, ...]) -> None:
        while stack and stack[-1].name in names:
            unclosed(pop())

    for tag in tags:
        if tag.closing:
            if not open_count[tag.name]:
                stray += 1
                issues.append(TableIssue("stray_close", f"</{tag.name}> closes nothing", tag.start))
                continue
            while stack[-1].name != tag.name:  # the pops pay for this scan
                unclosed(pop())
            pop()
            closed += 1
            continue
        opened += 1
        if tag.name != "table" and not open_count["table"]:
            issues.append(TableIssue("outside_table", f"<{tag.name}> outside any <table>", tag.start))
        if tag.name in SECTION_TAGS:
            pop_while(CELL_TAGS + ("tr",) + SECTION_TAGS)
        elif tag.name == "tr":
            pop_while(CELL_TAGS + ("tr",))
        elif tag.name in CELL_TAGS:
            pop_while(CELL_TAGS)
            if stack and stack[-1].name != "tr":
                issues.append(TableIssue("cell_outside_row", f"<{tag.name}> outside any <tr>", tag.start))
        stack.append(tag)
        open_count[tag.name] += 1
    for tag in reversed(stack):
        unclosed(tag)
    total = opened + stray
    return issues, (closed / total if total else 1.0)


def _positions(tags: list[Tag], elements: list) -> dict[int, int]:
    """id(element) -> offset of its start tag, pairing elements and raw start tags in document order.
    The caller keeps ``elements`` alive: lxml proxies (and so their ids) are stable only while referenced."""
    raw = [t for t in tags if not t.closing]
    out: dict[int, int] = {}
    k = 0
    for el in elements:
        j = k
        while j < len(raw) and raw[j].name != el.tag:
            j += 1
        if j < len(raw):
            out[id(el)] = raw[j].start
            k = j + 1
    return out


def _grid_issues(grid: TableGrid, where, table_pos: int) -> tuple[list[TableIssue], int]:
    """Issues of one table's grid, and its number of consistent rows."""
    issues: list[TableIssue] = []
    width, good = grid.width, 0
    if grid.cut:
        issues.append(TableIssue("too_large", "table wider than the grid limit: columns beyond it dropped",
                                 table_pos))
    for n, row in enumerate(grid.rows):
        ok = row.element is not None
        row_pos = where(row.element if row.element is not None else row.cells[0].element, table_pos)
        if row.slots != width:
            ok = False
            issues.append(TableIssue("ragged_row", f"row {n} covers {row.slots} columns, the table {width}",
                                     row_pos))
        for c in row.cells:
            pos = where(c.element, row_pos)
            if c.overlap:
                ok = False
                issues.append(TableIssue("overlapping_span", f"cell at row {c.row}, column {c.col} overlaps "
                                         "a row span from above", pos))
            if c.past_end:
                ok = False
                issues.append(TableIssue("span_past_table", f"rowspan of the cell at row {c.row}, column "
                                         f"{c.col} runs {c.past_end} row(s) past the table", pos))
            if c.bad_span:
                issues.append(TableIssue("bad_span", f"malformed or out-of-range span on the cell at row "
                                         f"{c.row}, column {c.col}", pos))
        good += ok
    return issues, good


def check_table(html: str) -> TableCheck:
    """Closure and grid consistency of every table in ``html`` (a table, or text containing tables)."""
    text = html if isinstance(html, str) else ""
    tags = scan_tags(text)
    issues, closure = _closure(tags)
    root = parse_document(text) if any(t.name == "table" for t in tags) else None
    shapes: list[tuple[int, int]] = []
    rows = good = 0
    if root is not None:
        elements = list(root.iter("table", "tr", *CELL_TAGS))
        pos = _positions(tags, elements)

        def where(el, default: int) -> int:
            return pos.get(id(el), default)

        for table in (el for el in elements if el.tag == "table"):
            grid = table_grid(table, with_text=False)
            found, ok = _grid_issues(grid, where, where(table, 0))
            issues += found
            shapes.append((len(grid.rows), grid.width))
            rows += len(grid.rows)
            good += ok
    issues.sort(key=lambda i: i.pos)
    return TableCheck(len(shapes), tuple(shapes), tuple(issues), closure, good / rows if rows else 1.0)


def table_validity(html: str) -> float:
    """closure × consistency in [0, 1]; 1.0 = every table tag closed and every table rectangular."""
    return check_table(html).validity


def cell_alignment(pred_html: str, gt_html: str) -> float:
    """Share of ground-truth cells found at the same (row, column) anchor with equal normalized text."""
    if isinstance(pred_html, str) and pred_html == gt_html:
        return 1.0
    gt_table, pred_table = parse_table(gt_html), parse_table(pred_html)
    gt_grid = table_grid(gt_table) if gt_table is not None else None
    gt = gt_grid.anchors() if gt_grid is not None else {}
    if not gt:
        return 0.0 if pred_table is not None and table_grid(pred_table, with_text=False).cells() else 1.0
    # Only the prediction's rows that the ground truth has can hold a matching anchor.
    pred = table_grid(pred_table, max_rows=len(gt_grid.rows)).anchors() if pred_table is not None else {}
    return sum(1 for key, text in gt.items() if pred.get(key) == text) / len(gt)
