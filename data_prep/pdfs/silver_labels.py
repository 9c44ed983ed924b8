"""Silver labels for born-digital PDF pages: the text layer as Markdown in the output convention.

- Tables: `page.find_tables(use_layout=False)`, the line-based finder (PyMuPDF 2's default first runs an
  ONNX layout model: 1.8 s a page here against 0.09 s, and it drops tables it does not see); each cell's
  grid position comes from its bounding box against the table's distinct cell edges (so merged cells get
  `colspan`/`rowspan`), its text from the words inside it.
- Text: PyMuPDF's blocks, minus every word inside a table. A block becomes a heading when its font is
  clearly larger than the page's body size (levels by size rank), list items when its lines start with a
  bullet or a number, a paragraph otherwise. Page numbers alone at the top or bottom are dropped (the
  convention has no headers or footers).
- Reading order: blocks that cross the page's vertical centre line split the page into bands; within a
  band the left column comes before the right one, each top to bottom.
Formulas cannot be recovered from a text layer: they come out as whatever text the PDF has.
"""
from __future__ import annotations

import html as html_lib
import inspect
import re
from collections import Counter
from dataclasses import dataclass

import pymupdf

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


def has_text_layer(page: pymupdf.Page) -> bool:
    return bool(page.get_text("text", flags=_FLAGS).strip())


def silver_page(page: pymupdf.Page) -> SilverPage:
    if not has_text_layer(page):
        return SilverPage(None, 0, 0)
    words = page.get_text("words", flags=_FLAGS)
    items: list[_Item] = []
    table_rects: list[pymupdf.Rect] = []
    merged = 0
    for table in _find_tables(page):
        html, n_merged = table_html(table, words)
        if html is None:
            continue
        rect = pymupdf.Rect(table.bbox)
        table_rects.append(rect)
        items.append(_Item(rect, html))
        merged += n_merged
    items += _text_items(page, table_rects)
    ordered = reading_order(items, page.rect)
    markdown = "\n\n".join(i.markdown for i in ordered if i.markdown)
    return SilverPage(markdown, len(table_rects), merged)


def _find_tables(page: pymupdf.Page) -> list:
    """The line-based finder; PyMuPDF 2 would first run its layout model unless told not to (1.x has
    neither the model nor the argument)."""
    if "use_layout" in inspect.signature(pymupdf.table.find_tables).parameters:
        return page.find_tables(use_layout=False).tables
    return page.find_tables().tables


def _edges(values: list[float], tol: float = 1.5) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def _index(edges: list[float], v: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - v))


def table_html(table, words: list[tuple]) -> tuple[str | None, int]:
    """The table in the output convention, and its number of merged cells (None if it is degenerate)."""
    cells = [pymupdf.Rect(c) for c in table.cells if c is not None]
    if not cells:
        return None, 0
    xs = _edges([v for c in cells for v in (c.x0, c.x1)])
    ys = _edges([v for c in cells for v in (c.y0, c.y1)])
    placed: dict[tuple[int, int], tuple[int, int, pymupdf.Rect]] = {}
    for c in cells:
        r0, r1, c0, c1 = _index(ys, c.y0), _index(ys, c.y1), _index(xs, c.x0), _index(xs, c.x1)
        if r1 > r0 and c1 > c0 and (r0, c0) not in placed:
            placed[(r0, c0)] = (r1 - r0, c1 - c0, c)
    n_rows = len(ys) - 1
    if n_rows < 1 or len(xs) < 2:
        return None, 0
    rows, merged = [], 0
    for r in range(n_rows):
        tds = []
        for (r0, c0), (rs, cs, rect) in sorted(placed.items()):
            if r0 != r:
                continue
            merged += rs > 1 or cs > 1
            attrs = (f' colspan="{cs}"' if cs > 1 else "") + (f' rowspan="{rs}"' if rs > 1 else "")
            tds.append(f"<td{attrs}>{escape_text(html_lib.escape(cell_text(rect, words), quote=False))}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return "<table>" + "".join(rows) + "</table>", merged


def cell_text(rect: pymupdf.Rect, words: list[tuple]) -> str:
    """The words whose centre lies in the cell, in line order (PyMuPDF's own table text loses spaces)."""
    inside = [w for w in words if rect.contains(pymupdf.Point((w[0] + w[2]) / 2, (w[1] + w[3]) / 2))]
    inside.sort(key=lambda w: (w[5], w[6], w[7]))  # block, line, word number
    return " ".join(w[4] for w in inside)


def escape_text(text: str) -> str:
    """A `$` in page text is a dollar sign, not math."""
    return text.replace("$", r"\$")


def _text_items(page: pymupdf.Page, table_rects: list[pymupdf.Rect]) -> list[_Item]:
    blocks = [b for b in page.get_text("dict", flags=_FLAGS)["blocks"] if b.get("type") == 0]
    kept: list[list[tuple[str, float, pymupdf.Rect]]] = []
    sizes: Counter[float] = Counter()  # characters per font size, outside tables (tables use smaller type)
    for b in blocks:
        lines = []
        for line in b["lines"]:
            spans = [s for s in line["spans"] if not any(_center_in(s["bbox"], t) for t in table_rects)]
            text = "".join(s["text"] for s in spans).strip()
            if text:
                lines.append((text, max(s["size"] for s in spans), pymupdf.Rect(line["bbox"])))
                for s in spans:
                    sizes[round(s["size"], 1)] += len(s["text"].strip())
        if lines:
            kept.append(lines)
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    heading_sizes = sorted({s for s in sizes if s >= body * 1.08}, reverse=True)
    items = []
    for lines in kept:
        rect = pymupdf.Rect(lines[0][2])
        for _, _, r in lines[1:]:
            rect |= r
        md = _block_markdown(lines, body, heading_sizes, rect, page.rect)
        if md:
            items.append(_Item(rect, md))
    return items


def _center_in(bbox: tuple, rect: pymupdf.Rect) -> bool:
    return rect.contains(pymupdf.Point((bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2))


def _block_markdown(lines: list[tuple[str, float, pymupdf.Rect]], body: float, heading_sizes: list[float],
                    rect: pymupdf.Rect, page: pymupdf.Rect) -> str:
    text = " ".join(t for t, _, _ in lines)
    margin = page.height * 0.08
    if _PAGE_NUMBER.match(text) and (rect.y1 < page.y0 + margin or rect.y0 > page.y1 - margin):
        return ""  # a page number: furniture
    size = max(s for _, s, _ in lines)
    if round(size, 1) in heading_sizes and len(lines) <= 3 and len(text) <= 200:
        level = min(3, heading_sizes.index(round(size, 1)) + 1)
        return "#" * level + " " + escape_text(text)
    if _BULLET.match(lines[0][0]) or _NUMBERED.match(lines[0][0]):
        return _list_markdown([t for t, _, _ in lines])
    return escape_text(text)


def _list_markdown(lines: list[str]) -> str:
    items: list[str] = []
    for line in lines:
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if bullet:
            items.append("- " + line[bullet.end():])
        elif numbered:
            items.append(f"{numbered.group(1)}. " + line[numbered.end():])
        elif items:
            items[-1] += " " + line  # a wrapped line of the item above
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
