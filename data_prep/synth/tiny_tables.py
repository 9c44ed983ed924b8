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
from data_prep.synth.math_render import MathRenderer
from data_prep.synth.render_pdf import PagePlan, Placed, StoryMeasurer, overlay_math, rasterize, write_pdf
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


def merge_one_cell(table: Table, rng: random.Random) -> Table:
    """The same table with two neighbouring cells of one row merged into one `colspan="2"` cell."""
    r, c = rng.randrange(len(table.rows)), rng.randrange(table.n_cols - 1)
    row = table.rows[r]
    merged = row[:c] + (Cell(row[c].text, colspan=2, numeric=True),) + row[c + 2:]
    return Table(table.rows[:r] + (merged,) + table.rows[r + 1:], table.n_cols, header_rows=0, style="grid",
                 body_groups=table.body_groups)


# Short formulas a 1 M-parameter model can learn to read: one construct (a superscript, a subscript, a
# fraction, a root, a sum) over single letters and digits. Each has braces to balance, which is what the
# formula-validity reward and the silver labels' unbalanced-brace error are about.
_LETTERS, _DIGITS = "abnxy", "123456789"
_FORMULAS = ("{l}^{{{d}}}", "{l}_{{{d}}}", "\\frac{{{d}}}{{{l}}}", "\\sqrt{{{l}}}", "{l}^{{{d}}}+{m}")


def tiny_formula(rng: random.Random) -> str:
    template = rng.choice(_FORMULAS)
    return template.format(l=rng.choice(_LETTERS), m=rng.choice(_LETTERS), d=rng.choice(_DIGITS))


class TinyTablesMaker:
    def __init__(self, profile: TinyTablesProfile) -> None:
        self.profile = profile
        self.measurer = StoryMeasurer(tiny_css(profile), pymupdf.Archive())
        self.math = MathRenderer() if profile.formula_share > 0 else None

    def make(self, seed: int, doc_index: int, n_pages: int, dpi: int) -> SynthDocument:
        if n_pages != 1:
            raise ValueError("a tiny-tables document has exactly one page")
        p = self.profile
        table = tiny_table(random.Random(f"tiny:{seed}:{doc_index}"), p)
        extra = random.Random(f"tiny-extra:{seed}:{doc_index}")  # its own stream: the defaults stay unchanged
        if p.merged_share > 0 and table.n_cols >= 2 and extra.random() < p.merged_share:
            table = merge_one_cell(table, extra)
        formula = tiny_formula(extra) if self.math is not None and extra.random() < p.formula_share else None
        m = self.measurer.measure(table.render_html(), p.width_pt - 2 * p.margin_pt)
        if m.width > p.width_pt - 2 * p.margin_pt + 0.5 or m.height > p.height_pt - 2 * p.margin_pt:
            raise ConfigError(f"a {len(table.rows)}×{table.n_cols} table at {p.font_size_pt} pt needs "
                             f"{m.width:.0f}×{m.height:.0f} pt, more than the {p.width_pt:.0f}×{p.height_pt:.0f} pt "
                             f"page minus margins: enlarge width_pt/height_pt or shrink font_size_pt")
        plan = PagePlan([Placed(None, p.margin_pt, p.margin_pt, m.width, m.height, m.story)])
        markdown = table.gt_html()
        if formula is not None:
            math = self.math.render(formula, p.formula_size_pt, display=True)
            top = p.margin_pt + m.height + p.margin_pt
            if top + math.height > p.height_pt - p.margin_pt:
                raise ConfigError(f"a {len(table.rows)}-row table and a formula need {top + math.height:.0f} pt, "
                                  f"more than the page's {p.height_pt:.0f} pt: enlarge height_pt")
            width = p.width_pt - 2 * p.margin_pt
            plan.items.append(Placed(None, p.margin_pt, top, width, math.height, display=math))
            markdown += f"\n\n$$\n{formula}\n$$"
        page_rect = pymupdf.Rect(0, 0, p.width_pt, p.height_pt)
        doc = pymupdf.open("pdf", write_pdf(page_rect, [plan]))
        if formula is not None:
            overlay_math(doc, [plan])
        stats = {"tables": 1, "merged_cells": table.merged_cells, "formulas": int(formula is not None),
                 "chars": len(markdown)}
        return SynthDocument([SynthPage(markdown, rasterize(doc[0], dpi), stats)], doc)
