"""Block-by-block layout into columns and pages, so each page's ground truth is exactly what it prints.

Every block is measured alone (a Story in a box one column wide) and placed at a cursor that runs down the
left column, then the right one, then the next page: placement order is reading order, and each page's
ground truth is the Markdown of the blocks placed on it. A block that does not fit the rest of a column
either moves whole to the next column, or — paragraphs at sentence boundaries, lists at items, tables at
row groups no `rowspan` crosses, with the header rows repeated — splits into a part that fits and a rest
that continues. A heading never ends a column. The document ends when its last page is full.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from data_prep.synth.render_pdf import Measured, PagePlan, Placed, StoryMeasurer
from data_prep.synth.blocks import Block, DisplayMath, Heading, ListBlock, Paragraph, TableBlock
from data_prep.synth.document import BlockStream, DocStyle


@dataclass
class LayoutStats:
    dropped_tables_too_wide: int = 0
    dropped_too_tall: int = 0
    splits: int = 0
    table_splits: int = 0
    # (page, header rows) for each table part that continues a table split at the end of a column or page
    table_continued_on: list[tuple[int, int]] = field(default_factory=list)


class _Cursor:
    def __init__(self, style: DocStyle, n_pages: int) -> None:
        self.style, self.n_pages = style, n_pages
        self.pages: list[PagePlan] = [PagePlan()]
        self.col = 0
        self.col_top = style.top
        self.y = style.top
        self.empty_column = True

    @property
    def x(self) -> float:
        return self.style.column_x(self.col)

    @property
    def remaining(self) -> float:
        return self.style.bottom - self.y

    @property
    def column_height(self) -> float:
        return self.style.bottom - self.col_top

    def advance(self) -> bool:
        """Next column, else next page; False when the document's pages are all used."""
        if self.col + 1 < self.style.columns:
            self.col += 1
        elif len(self.pages) < self.n_pages:
            self.pages.append(PagePlan())
            self.col, self.col_top = 0, self.style.top
        else:
            return False
        self.y = self.col_top
        self.empty_column = True
        return True

    def put(self, item: Placed) -> None:
        self.pages[-1].items.append(item)
        self.y += item.height + self.style.block_gap
        self.empty_column = False


def lay_out(stream: BlockStream, style: DocStyle, n_pages: int, measurer: StoryMeasurer) -> tuple[list[PagePlan], LayoutStats]:
    cur = _Cursor(style, n_pages)
    stats = LayoutStats()
    title = stream.title()
    m = measurer.measure(title.html(stream.inline), style.content_width)
    cur.put(Placed(title, style.margin_x, style.top, m.width, m.height, m.story))
    cur.col_top = cur.y = cur.y + style.block_gap  # the title spans both columns; columns start below it
    blocks: Iterator[Block] = iter(stream)
    pending: Block | None = None
    pending_is_rest = False  # the pending block is the rest of a split one (not a block moved whole)
    while True:
        continued = pending_is_rest
        block = pending if pending is not None else next(blocks)
        pending, pending_is_rest = None, False
        outcome = _place(block, cur, stream, measurer, stats)
        if continued and isinstance(block, TableBlock) and outcome != "next":
            stats.table_continued_on.append((len(cur.pages) - 1, block.table.header_rows))
        if outcome == "placed":
            continue
        if isinstance(outcome, tuple):  # placed a part; the rest continues in the next column
            pending, pending_is_rest = outcome[1], True
            stats.splits += 1
            stats.table_splits += isinstance(block, TableBlock)
        elif outcome == "next":  # the whole block moves to the top of the next column
            pending, pending_is_rest = block, continued
        elif outcome == "drop":
            continue
        if not cur.advance():
            break
    _number_pages(cur.pages, style, measurer)
    return cur.pages, stats


def _measure(block: Block, cur: _Cursor, stream: BlockStream, measurer: StoryMeasurer) -> Measured | None:
    if isinstance(block, DisplayMath):
        return None
    return measurer.measure(block.html(stream.inline), cur.style.column_width)


def _place(block: Block, cur: _Cursor, stream: BlockStream, measurer: StoryMeasurer,
           stats: LayoutStats) -> str | tuple[str, Block]:
    """'placed', ('split', rest), 'next' (try again in the next column) or 'drop'."""
    style = cur.style
    if isinstance(block, DisplayMath):
        h = block.math.height + style.font_size * 0.8
        if h > cur.column_height:
            stats.dropped_too_tall += 1
            return "drop"
        if h > cur.remaining:
            return "next"
        cur.put(Placed(block, cur.x, cur.y, style.column_width, h, display=block.math))
        return "placed"
    m = _measure(block, cur, stream, measurer)
    assert m is not None
    if isinstance(block, TableBlock) and m.width > style.column_width + 0.5:
        if block.small:
            stats.dropped_tables_too_wide += 1
            return "drop"
        return _place(TableBlock(block.table, small=True), cur, stream, measurer, stats)
    need = m.height
    if isinstance(block, Heading):
        need += 2.5 * style.font_size * style.line_height  # keep a heading with its first lines
    if need <= cur.remaining:
        _put(cur, block, m, stream)
        return "placed"
    if isinstance(block, (Paragraph, ListBlock, TableBlock)) and block.parts() >= 2:
        fit = _fit_prefix(block, cur, stream, measurer)
        if fit is not None:
            head, rest, hm = fit
            _put(cur, head, hm, stream)
            return ("split", rest)
    if cur.empty_column:  # does not fit an empty column and cannot split further
        stats.dropped_too_tall += 1
        return "drop"
    return "next"


def _put(cur: _Cursor, block: Block, m: Measured, stream: BlockStream) -> None:
    cur.put(Placed(block, cur.x, cur.y, m.width, m.height, m.story, inline=block.inline_math(stream.inline)))


def _fit_prefix(block: Paragraph | ListBlock | TableBlock, cur: _Cursor, stream: BlockStream,
                measurer: StoryMeasurer) -> tuple[Block, Block, Measured] | None:
    """The longest head (1 … parts-1 parts) that fits the rest of the column, by binary search."""
    lo, hi, best = 1, block.parts() - 1, None
    while lo <= hi:
        k = (lo + hi) // 2
        head, rest = block.split_at(k)
        m = measurer.measure(head.html(stream.inline), cur.style.column_width)
        if m.height <= cur.remaining:
            best = (head, rest, m)
            lo = k + 1
        else:
            hi = k - 1
    return best


def _number_pages(pages: list[PagePlan], style: DocStyle, measurer: StoryMeasurer) -> None:
    """Printed page numbers: page furniture, deliberately absent from the ground truth."""
    if not style.page_numbers:
        return
    for i, plan in enumerate(pages):
        m = measurer.measure(f'<p style="text-align:center; font-size:0.85em">{i + 1}</p>', style.content_width)
        y = style.bottom + (style.margin_bottom - m.height) / 2
        plan.items.append(Placed(None, style.margin_x, y, m.width, m.height, m.story))
