"""Make one synthetic document: lay it out, write its PDF, draw its formulas, render its pages.

`make_document` is the unit of work of `prep synth`: pure in (seed, document index, page count, profile,
dpi), so any worker in any shard makes the same bytes. The tiny-tables profile has its own maker
(`tiny_tables.make_tiny_page`) with the same result type.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import pymupdf

from data_prep.config import DocumentProfile
from data_prep.synth.gt_check import GroundTruthChecker
from data_prep.synth.math_render import MathRenderer, RenderedMath
from data_prep.synth.render_pdf import StoryMeasurer, overlay_math, placeholder_png, rasterize, write_pdf
from data_prep.synth.blocks import block_stats
from data_prep.synth.document import BlockStream, TTF_FAMILIES, draw_style, matplotlib_font_dir
from data_prep.synth.layout import LayoutStats, lay_out


@dataclass
class SynthPage:
    markdown: str
    pixmap: pymupdf.Pixmap
    stats: dict[str, int]
    formulas: list[tuple[RenderedMath, pymupdf.Rect]] = field(default_factory=list)  # as drawn, reading order


@dataclass
class SynthDocument:
    pages: list[SynthPage]
    pdf: pymupdf.Document  # the final PDF, formulas drawn (callers may save or inspect it)
    layout: LayoutStats = field(default_factory=LayoutStats)


class DocumentMaker:
    """Per-process state worth keeping between documents: the math engine's caches and the archive."""

    def __init__(self, profile: DocumentProfile, checker: GroundTruthChecker | None = None) -> None:
        self.profile = profile
        self.renderer = MathRenderer()
        self.checker = checker or GroundTruthChecker()
        self._archives: dict[str, pymupdf.Archive] = {}

    def _archive(self, family: str) -> pymupdf.Archive:
        """The Story's files: the formula placeholder and, for a TTF family, its fonts (read once)."""
        archive = self._archives.get(family)
        if archive is None:
            archive = pymupdf.Archive()
            archive.add(placeholder_png(), "ph.png")
            for name in TTF_FAMILIES.get(family, ()):
                archive.add((matplotlib_font_dir() / name).read_bytes(), name)
            self._archives[family] = archive
        return archive

    def make(self, seed: int, doc_index: int, n_pages: int, dpi: int) -> SynthDocument:
        rng = random.Random(f"synth:{seed}:{doc_index}")
        style = draw_style(rng, self.profile)
        stream = BlockStream(rng, style, self.profile, self.renderer, self.checker.latex_problem)
        measurer = StoryMeasurer(style.css(), self._archive(style.family))
        plans, layout = lay_out(stream, style, n_pages, measurer)
        doc = pymupdf.open("pdf", write_pdf(style.page, plans))
        formulas = overlay_math(doc, plans)
        pages = []
        for page, plan, drawn in zip(doc, plans, formulas):
            blocks = plan.gt_blocks()
            markdown = "\n\n".join(b.markdown() for b in blocks)
            stats = block_stats(blocks, stream.inline) | {"chars": len(markdown)}
            pages.append(SynthPage(markdown, rasterize(page, dpi), stats, drawn))
        return SynthDocument(pages, doc, layout)
