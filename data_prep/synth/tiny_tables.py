"""The tiny-tables profile: one small bordered table of small numbers per small image.

This is the learnable domain of the CPU demo (docs/demo.md, measured: a 745k-parameter model reaches 98 %
exact match on 2–4 rows × 2–3 columns of 1–3 digit numbers at 192×128 px with an 18 px font). The ground
truth is exactly the table's markup in the output convention, e.g.
`<table><tr><td>7</td><td>42</td></tr><tr><td>315</td><td>9</td></tr></table>`.
"""
from __future__ import annotations

import random

import pymupdf

from data_prep.config import ConfigError, TinyTablesProfile
from data_prep.synth.render_pdf import PagePlan, Placed, StoryMeasurer, rasterize, write_pdf
from data_prep.synth.factory import SynthDocument, SynthPage
from data_prep.synth.tables import Cell, Table


def tiny_css(profile: TinyTablesProfile) -> str:
    return f"""
body, div, table {{margin: 0; padding: 0}}
body {{font-family: "{profile.family}"; font-size: {profile.font_size_pt:.2f}pt; line-height: 1.15}}
table {{border-collapse: collapse}}
td {{border: 1pt solid #000; padding: 2pt 5pt; text-align: right}}
"""


def tiny_table(rng: random.Random, profile: TinyTablesProfile) -> Table:
    n_rows, n_cols = rng.randint(*profile.rows), rng.randint(*profile.cols)

    def number() -> str:
        digits = rng.randint(*profile.digits)
        return str(rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10 ** digits - 1))

    rows = tuple(tuple(Cell(number(), numeric=True) for _ in range(n_cols)) for _ in range(n_rows))
    return Table(rows, n_cols, header_rows=0, style="grid", body_groups=tuple((r, r + 1) for r in range(n_rows)))


class TinyTablesMaker:
    def __init__(self, profile: TinyTablesProfile) -> None:
        self.profile = profile
        self.measurer = StoryMeasurer(tiny_css(profile), pymupdf.Archive())

    def make(self, seed: int, doc_index: int, n_pages: int, dpi: int) -> SynthDocument:
        if n_pages != 1:
            raise ValueError("a tiny-tables document has exactly one page")
        p = self.profile
        table = tiny_table(random.Random(f"tiny:{seed}:{doc_index}"), p)
        m = self.measurer.measure(table.render_html(), p.width_pt - 2 * p.margin_pt)
        if m.width > p.width_pt - 2 * p.margin_pt + 0.5 or m.height > p.height_pt - 2 * p.margin_pt:
            raise ConfigError(f"a {len(table.rows)}×{table.n_cols} table at {p.font_size_pt} pt needs "
                             f"{m.width:.0f}×{m.height:.0f} pt, more than the {p.width_pt:.0f}×{p.height_pt:.0f} pt "
                             f"page minus margins: enlarge width_pt/height_pt or shrink font_size_pt")
        plan = PagePlan([Placed(None, p.margin_pt, p.margin_pt, m.width, m.height, m.story)])
        page_rect = pymupdf.Rect(0, 0, p.width_pt, p.height_pt)
        doc = pymupdf.open("pdf", write_pdf(page_rect, [plan]))
        markdown = table.gt_html()
        stats = {"tables": 1, "merged_cells": 0, "formulas": 0, "chars": len(markdown)}
        return SynthDocument([SynthPage(markdown, rasterize(doc[0], dpi), stats)], doc)
