"""One synthetic document: its look (page size, margins, columns, fonts) and its endless stream of blocks.

Everything is drawn from the document's own `random.Random`, seeded from (run seed, document index), so a
document is the same whichever worker, shard or run makes it.
"""
from __future__ import annotations

import importlib.util
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pymupdf

from data_prep.synth import formulas as synth_formulas, tables as synth_tables, text as synth_text
from data_prep.config import DocumentProfile
from data_prep.synth.math_render import LatexCheck, MathRenderer, RenderedMath, checked_formula
from data_prep.synth.blocks import Block, DisplayMath, Heading, ListBlock, Paragraph, TableBlock

# CSS family → (regular, bold) TTF in matplotlib's font folder; other families are MuPDF built-ins.
TTF_FAMILIES = MappingProxyType({
    "DejaVu Serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    "DejaVu Sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "STIX": ("STIXGeneral.ttf", "STIXGeneralBol.ttf"),
})


def matplotlib_font_dir() -> Path:
    """matplotlib's bundled TTFs (a runtime dependency), found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise RuntimeError("matplotlib is not installed; it provides the DejaVu and STIX fonts")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


@dataclass(frozen=True)
class DocStyle:
    page: pymupdf.Rect
    margin_x: float
    margin_top: float
    margin_bottom: float
    columns: int
    gap: float
    family: str
    font_size: float
    line_height: float
    justify: bool
    heading_color: str
    page_numbers: bool

    @property
    def content_width(self) -> float:
        return self.page.width - 2 * self.margin_x

    @property
    def column_width(self) -> float:
        return (self.content_width - (self.columns - 1) * self.gap) / self.columns

    def column_x(self, col: int) -> float:
        return self.margin_x + col * (self.column_width + self.gap)

    @property
    def top(self) -> float:
        return self.margin_top

    @property
    def bottom(self) -> float:
        return self.page.height - self.margin_bottom

    @property
    def block_gap(self) -> float:
        return self.font_size * 0.7

    def css(self) -> str:
        faces = ""
        if self.family in TTF_FAMILIES:
            regular, bold = TTF_FAMILIES[self.family]
            faces = (f'@font-face {{font-family: "{self.family}"; src: url({regular})}} '
                     f'@font-face {{font-family: "{self.family}"; font-weight: bold; src: url({bold})}} ')
        align = "justify" if self.justify else "left"
        return faces + f"""
body, div, p, h1, h2, h3, ul, ol, li, table {{margin: 0; padding: 0}}
body {{font-family: "{self.family}"; font-size: {self.font_size:.2f}pt; line-height: {self.line_height:.2f}; color: #111}}
h1 {{font-size: 1.6em; font-weight: bold; line-height: 1.2; color: {self.heading_color}}}
h2 {{font-size: 1.3em; font-weight: bold; line-height: 1.2; color: {self.heading_color}}}
h3 {{font-size: 1.12em; font-weight: bold; line-height: 1.2; color: {self.heading_color}}}
p {{text-align: {align}}}
ul, ol {{padding-left: 1.6em}}
table {{border-collapse: collapse; font-size: 0.9em; line-height: 1.2}}
div.small table {{font-size: 0.75em}}
td {{padding: 0.12em 0.35em; vertical-align: top}}
td.n {{text-align: right}}
td.h {{font-weight: bold}}
table.grid td {{border: 0.5pt solid #222}}
table.rules {{border-top: 1pt solid #000; border-bottom: 1pt solid #000}}
table.rules tr.hrow td {{border-bottom: 0.5pt solid #000}}
table.zebra td {{border: 0.4pt solid #888}}
table.zebra tr.odd td {{background-color: #e8e8e8}}
table.zebra tr.hrow td {{background-color: #cfd8e6}}
"""


def draw_style(rng: random.Random, profile: DocumentProfile) -> DocStyle:
    page = pymupdf.paper_rect(rng.choice(profile.page_sizes))
    columns = 2 if rng.random() < profile.two_column_prob else 1
    size = round(rng.uniform(*profile.font_size_pt) * 2) / 2
    if columns == 2:
        size = min(size, 10.5)  # two narrow columns of 12 pt text hold too few words a line
    margin = rng.uniform(*profile.margin_pt)
    return DocStyle(
        page=page, margin_x=margin, margin_top=rng.uniform(*profile.margin_pt),
        margin_bottom=rng.uniform(*profile.margin_pt) + 14, columns=columns,
        gap=rng.uniform(*profile.column_gap_pt), family=rng.choice(profile.families), font_size=size,
        line_height=round(rng.uniform(*profile.line_height), 2), justify=rng.random() < 0.5,
        heading_color=rng.choice(("#000000", "#000000", "#1f3a68", "#5a1a1a")),
        page_numbers=rng.random() < profile.page_number_prob,
    )


class BlockStream:
    """The document's blocks, drawn lazily: a title, then sections of 1–4 blocks under a heading."""

    def __init__(self, rng: random.Random, style: DocStyle, profile: DocumentProfile, renderer: MathRenderer,
                 check: LatexCheck) -> None:
        self.rng, self.style, self.profile = rng, style, profile
        self.renderer, self.check = renderer, check
        has_math = rng.random() < profile.math_doc_prob
        self.display_weight = profile.weight_display_math if has_math else 0.0
        self.inline_prob = profile.inline_math_prob if has_math else 0.0

    def inline(self, latex: str) -> RenderedMath:
        return self.renderer.render(latex, self.style.font_size, display=False)

    def _inline_source(self, rng: random.Random) -> str | None:
        m = checked_formula(rng, synth_formulas.inline_formula, self.renderer, self.check, self.style.font_size,
                            display=False, max_depth=0.6 * self.style.font_size,
                            max_width=0.5 * self.style.column_width)
        return None if m is None else m.latex

    def title(self) -> Heading:
        return Heading(1, synth_text.heading_text(self.rng))

    def __iter__(self) -> Iterator[Block]:
        rng, p = self.rng, self.profile
        numbered = rng.random() < 0.5
        kinds = ("paragraph", "list", "table", "display_math")
        weights = (p.weight_paragraph, p.weight_list, p.weight_table, self.display_weight)
        section = 0
        while True:
            section += 1
            level = 2 if section == 1 or rng.random() < 0.6 else 3
            yield Heading(level, synth_text.heading_text(rng, f"{section}." if numbered else ""))
            for _ in range(rng.randint(1, 4)):
                block = self._block(rng.choices(kinds, weights)[0])
                if block is not None:
                    yield block

    def _block(self, kind: str) -> Block | None:
        rng, p = self.rng, self.profile
        if kind == "paragraph":
            return Paragraph(tuple(synth_text.sentence(rng, self.inline_prob, self._inline_source)
                                   for _ in range(rng.randint(1, 6))))
        if kind == "list":
            items = tuple(synth_text.list_item(rng, self.inline_prob / 2, self._inline_source)
                          for _ in range(rng.randint(2, 6)))
            return ListBlock(rng.random() < 0.5, items)
        if kind == "table":
            # A column of this document holds about one 5.5-em cell per column of the table.
            fit = int(self.style.column_width / (5.5 * self.style.font_size))
            n_cols = rng.randint(p.table_cols[0], max(p.table_cols[0], min(p.table_cols[1], fit)))
            return TableBlock(synth_tables.random_table(rng, n_cols, p.table_rows, p.merge_prob))
        m = checked_formula(rng, synth_formulas.display_formula, self.renderer, self.check,
                            self.style.font_size * 1.1, display=True, max_width=self.style.column_width)
        return None if m is None else DisplayMath(m)
