"""Silver labels for born-digital PDF pages: the text layer as Markdown in the output convention, and what
that label can be trusted for.

- Tables: `data_prep.pdfs.tables` (PyMuPDF's `find_tables(union=True, refine=True)`, cell text from the
  page's words, merged columns split): ruled, partly ruled and unruled tables, with colspan/rowspan.
- Text: PyMuPDF's blocks, minus every word inside a table. A block becomes a heading when its font is
  clearly larger than the page's body size (levels by size rank), list items when its lines start with a
  bullet or a number, a paragraph otherwise; its lines are joined undoing line-end hyphenation
  (`data_prep.pdfs.hyphenation`). Page numbers alone at the top or bottom are dropped (the convention has
  no headers or footers).
- Formulas: a text layer holds only debris where a formula is (`data_prep.pdfs.math_detect`). A block with
  math is left out of the label whole, and so is a table with math in it; the page's `label_kind` becomes
  `silver_partial` and `left_out` names the block types that are missing. Such a label is no SFT target
  (the model would learn to skip formulas); the page still serves GRPO's label-free rewards.
- Reading order: blocks that cross the page's vertical centre line split the page into bands; within a
  band the left column comes before the right one, each top to bottom.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pymupdf

from data_prep.pdfs.hyphenation import join_lines, word_set
from data_prep.pdfs.math_detect import block_math_kind, is_equation_number, is_math_span
from data_prep.pdfs.tables import page_tables

_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP | pymupdf.TEXT_DEHYPHENATE
_BULLET = re.compile(r"^\s*([•◦▪‣∙·\-–*])\s+")
_NUMBERED = re.compile(r"^\s*\(?(\d{1,3})[.)]\s+")
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?\s*$", re.IGNORECASE)


@dataclass
class _Item:
    rect: pymupdf.Rect
    markdown: str


@dataclass
class SilverPage:
    markdown: str | None  # None: no text layer
    tables: int
    merged_cells: int
    formulas: int = 0  # formula blocks found (and left out of the label)
    left_out: dict[str, int] = field(default_factory=dict)  # block type -> how many were left out

    @property
    def label_kind(self) -> str | None:
        """`silver`: the whole page is in the label; `silver_partial`: some blocks (`left_out`) are not;
        None: no label (no text layer)."""
        if self.markdown is None:
            return None
        return "silver_partial" if self.left_out else "silver"


def has_text_layer(page: pymupdf.Page) -> bool:
    return bool(page.get_text("text", flags=_FLAGS).strip())


def silver_page(page: pymupdf.Page, table_engine: str = "union_refine") -> SilverPage:
    if not has_text_layer(page):
        return SilverPage(None, 0, 0)
    words = page.get_text("words", flags=_FLAGS)
    blocks = [b for b in page.get_text("dict", flags=_FLAGS)["blocks"] if b.get("type") == 0]
    items: list[_Item] = []
    table_rects: list[pymupdf.Rect] = []
    left_out: Counter[str] = Counter()
    merged = 0
    math_rects = [pymupdf.Rect(s["bbox"]) for b in blocks for line in b["lines"] for s in line["spans"]
                  if is_math_span(s)]
    for table in page_tables(page, words, engine=table_engine):
        table_rects.append(table.bbox)  # its words are no paragraph text, kept or not
        if any(_center_in(r, table.bbox) for r in math_rects):
            left_out["table_with_math"] += 1
            continue
        items.append(_Item(table.bbox, table.html()))
        merged += table.merged_cells
    text_items, text_left_out = _text_items(blocks, page.rect, table_rects, word_set(words))
    items += text_items
    left_out.update(text_left_out)
    ordered = reading_order(items, page.rect)
    markdown = "\n\n".join(i.markdown for i in ordered if i.markdown)
    formulas = left_out["display_math"] + left_out["inline_math"] + left_out["table_with_math"]
    return SilverPage(markdown, len(table_rects) - left_out["table_with_math"], merged, formulas,
                      dict(sorted(left_out.items())))


def escape_text(text: str) -> str:
    """A `$` in page text is a dollar sign, not math."""
    return text.replace("$", r"\$")


def _text_items(blocks: list[dict], page_rect: pymupdf.Rect, table_rects: list[pymupdf.Rect],
                page_words: set[str]) -> tuple[list[_Item], Counter[str]]:
    kept: list[list[tuple[str, float, pymupdf.Rect]]] = []
    left_out: Counter[str] = Counter()
    sizes: Counter[float] = Counter()  # characters per font size, outside tables (tables use smaller type)
    numbers: list[list] = []  # lone equation numbers: dropped if the page has display math
    for b in blocks:
        lines, math_flags = [], []
        for line in b["lines"]:
            spans = [s for s in line["spans"] if not any(_center_in(s["bbox"], t) for t in table_rects)]
            text = "".join(s["text"] for s in spans).strip()
            if text:
                lines.append((text, max(s["size"] for s in spans), pymupdf.Rect(line["bbox"])))
                math_flags.append(any(is_math_span(s) for s in spans))
        kind = block_math_kind(math_flags)
        if kind is not None:
            left_out[kind] += 1  # debris: never written into a label
            continue
        if lines and all(is_equation_number(t) for t, _, _ in lines):
            numbers.append(lines)
            continue
        for text, size, _ in lines:
            sizes[round(size, 1)] += len(text)
        if lines:
            kept.append(lines)
    if not left_out["display_math"]:
        kept += numbers  # "(3)" on a page without formulas is text
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    heading_sizes = sorted({s for s in sizes if s >= body * 1.08}, reverse=True)
    items = []
    for lines in kept:
        rect = pymupdf.Rect(lines[0][2])
        for _, _, r in lines[1:]:
            rect |= r
        md = _block_markdown(lines, body, heading_sizes, rect, page_rect, page_words)
        if md:
            items.append(_Item(rect, md))
    return items, left_out


def _center_in(bbox: tuple, rect: pymupdf.Rect) -> bool:
    return rect.contains(pymupdf.Point((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2))


def _block_markdown(lines: list[tuple[str, float, pymupdf.Rect]], body: float, heading_sizes: list[float],
                    rect: pymupdf.Rect, page: pymupdf.Rect, page_words: set[str]) -> str:
    text = join_lines([t for t, _, _ in lines], page_words)
    margin = page.height * 0.08
    if _PAGE_NUMBER.match(text) and (rect.y1 < page.y0 + margin or rect.y0 > page.y1 - margin):
        return ""  # a page number: furniture
    size = max(s for _, s, _ in lines)
    if round(size, 1) in heading_sizes and len(lines) <= 3 and len(text) <= 200:
        level = min(3, heading_sizes.index(round(size, 1)) + 1)
        return "#" * level + " " + escape_text(text)
    if _BULLET.match(lines[0][0]) or _NUMBERED.match(lines[0][0]):
        return _list_markdown([t for t, _, _ in lines], page_words)
    return escape_text(text)


def _list_markdown(lines: list[str], page_words: set[str]) -> str:
    items: list[str] = []
    for line in lines:
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if bullet:
            items.append("- " + line[bullet.end():])
        elif numbered:
            items.append(f"{numbered.group(1)}. " + line[numbered.end():])
        elif items:
            items[-1] = join_lines([items[-1], line], page_words)  # a wrapped line of the item above
        else:
            items.append(line)
    return "\n".join(escape_text(i) for i in items)


def reading_order(items: list[_Item], page: pymupdf.Rect) -> list[_Item]:
    """Bands split by full-width items; in each band the left column, then the right, top to bottom."""
    mid = (page.x0 + page.x1) / 2
    full = sorted((i for i in items if i.rect.x0 < mid - 2 and i.rect.x1 > mid + 2), key=lambda i: i.rect.y0)
    columns = [i for i in items if not (i.rect.x0 < mid - 2 and i.rect.x1 > mid + 2)]
    out: list[_Item] = []
    top = page.y0 - 1
    for f in full + [None]:
        bottom = f.rect.y0 if f is not None else page.y1 + 1
        band = [i for i in columns if top <= (i.rect.y0 + i.rect.y1) / 2 < bottom]
        out += sorted((i for i in band if i.rect.x1 <= mid + 2), key=lambda i: (i.rect.y0, i.rect.x0))
        out += sorted((i for i in band if i.rect.x1 > mid + 2), key=lambda i: (i.rect.y0, i.rect.x0))
        if f is not None:
            out.append(f)
            top = f.rect.y0
    seen = {id(i) for i in out}
    out += [i for i in columns if id(i) not in seen]  # none expected; never lose text
    return out
