"""Drawing laid-out pages with PyMuPDF: HTML blocks through Story, formulas as vector overlays, PNG pages.

Story lays out text and tables (rowspan/colspan included) but rasterises SVG images at low resolution, so
formulas take a detour: the HTML holds a transparent placeholder of the formula's exact size, the page is
written, the placeholders are found again with `get_image_info` (in drawing order, checked against the
expected sizes), and the formulas are drawn into them as vector paths, in an extra content stream.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import pymupdf

from data_prep.synth.math_render import RenderedMath
from data_prep.synth.blocks import PLACEHOLDER, Block

HUGE = 1e5  # a measuring box taller than any block


def placeholder_png() -> bytes:
    """1×1 fully transparent RGBA PNG (MuPDF keeps PIL's alpha; a PyMuPDF-made one came out black)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGBA", (1, 1), (255, 255, 255, 0)).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Measured:
    story: pymupdf.Story
    width: float
    height: float


class StoryMeasurer:
    """Lays one HTML block out in a column of a given width and reports the size it used."""

    def __init__(self, css: str, archive: pymupdf.Archive) -> None:
        self.css, self.archive = css, archive

    def measure(self, html: str, width: float) -> Measured:
        story = pymupdf.Story(html, user_css=self.css, archive=self.archive)
        more, filled = story.place(pymupdf.Rect(0, 0, width, HUGE))
        if more:
            raise ValueError("a block is taller than the measuring box")
        return Measured(story, filled[2], filled[3])


@dataclass
class Placed:
    block: Block | None  # None: page furniture (a page number), printed but not in the ground truth
    x: float
    y: float
    width: float
    height: float
    story: pymupdf.Story | None = None  # None for display math, drawn by the overlay
    inline: list[RenderedMath] = field(default_factory=list)  # inline formulas, in placeholder order
    display: RenderedMath | None = None  # a display formula, centred in this item's box


@dataclass
class PagePlan:
    items: list[Placed] = field(default_factory=list)

    def gt_blocks(self) -> list[Block]:
        return [p.block for p in self.items if p.block is not None]


def write_pdf(page_rect: pymupdf.Rect, pages: list[PagePlan]) -> bytes:
    buf = io.BytesIO()
    writer = pymupdf.DocumentWriter(buf)
    for plan in pages:
        dev = writer.begin_page(page_rect)
        for item in plan.items:
            if item.story is not None:
                item.story.draw(dev, pymupdf.Matrix(1, 0, 0, 1, item.x, item.y))
        writer.end_page()
    writer.close()
    return buf.getvalue()


def overlay_math(doc: pymupdf.Document, pages: list[PagePlan]) -> list[list[tuple[RenderedMath, pymupdf.Rect]]]:
    """Draw every formula into its box (inline: its placeholder; display: centred in its slot).

    The formulas are written as PDF path operators into one extra content stream of the page (MuPDF's
    SVG import plus `show_pdf_page` cost 10–15 ms a formula; this costs well under one). Returns each page's formulas with the box they were drawn in, in reading order.
    """
    placed_pages = []
    for page, plan in zip(doc, pages):
        expected = [m for item in plan.items for m in item.inline]
        boxes = [pymupdf.Rect(info["bbox"]) for info in page.get_image_info()]
        if len(boxes) != len(expected):
            raise RuntimeError(f"page {page.number}: {len(boxes)} placeholders drawn, {len(expected)} formulas expected")
        inline = iter(zip(expected, boxes))
        placed: list[tuple[RenderedMath, pymupdf.Rect]] = []
        for item in plan.items:
            for m in item.inline:
                _m, box = next(inline)
                if abs(box.width - m.width) > 0.6 or abs(box.height - m.height) > 0.6:
                    raise RuntimeError(f"page {page.number}: placeholder {tuple(box)} does not fit {m.latex!r}")
                placed.append((m, pymupdf.Rect(box.x0, box.y1 - m.height, box.x0 + m.width, box.y1)))
            m = item.display
            if m is not None:
                x = item.x + (item.width - m.width) / 2
                y = item.y + (item.height - m.height) / 2
                placed.append((m, pymupdf.Rect(x, y, x + m.width, y + m.height)))
        if placed:
            prepend_content(doc, page, formula_content(page.rect, placed))
        placed_pages.append(placed)
    return placed_pages


def formula_content(rect: pymupdf.Rect, placed: list[tuple[RenderedMath, pymupdf.Rect]]) -> bytes:
    """PDF content drawing each formula into its box. A formula's units are points, y down, baseline at
    y = 0 and its left edge at the viewBox's min-x; PDF space is y up from the page's bottom edge."""
    parts = []
    for m, box in placed:
        tx, baseline = box.x0 - m.min_x, box.y1 - m.depth
        parts.append(b"q 1 0 0 -1 %.3f %.3f cm\n%s\nQ" % (tx, rect.height - baseline, m.pdf_ops))
    return b"\n".join(parts)


def prepend_content(doc: pymupdf.Document, page: pymupdf.Page, content: bytes) -> None:
    """Add a content stream before the page's own. The formulas overlap nothing else on the page, so
    drawing them first looks the same; they start from PDF's initial graphics state and leave it as they
    found it (q … Q), so the page's own stream is unaffected (appending would first need the page's
    stream wrapped in q/Q: 6–10 ms a page here)."""
    xref = doc.get_new_xref()
    doc.update_object(xref, "<<>>")
    doc.update_stream(xref, content, compress=False)  # deflating it cost more than the rest of the overlay
    refs = " ".join(f"{x} 0 R" for x in [xref] + page.get_contents())
    doc.xref_set_key(page.xref, "Contents", f"[{refs}]")


def rasterize(page: pymupdf.Page, dpi: int) -> pymupdf.Pixmap:
    return page.get_pixmap(dpi=dpi, alpha=False)


__all__ = ["PLACEHOLDER", "Measured", "PagePlan", "Placed", "StoryMeasurer", "overlay_math", "formula_content", "prepend_content",
           "placeholder_png", "rasterize", "write_pdf"]
