"""The blocks of a synthetic document, each with its ground truth and the HTML that prints it.

Every block knows three things about itself: its Markdown in the output convention (`markdown`), the HTML
the page prints (`html`, for PyMuPDF's Story), and the formulas the HTML leaves room for (`inline_math`,
in the order their placeholders appear). Blocks that may break across columns or pages split into two
blocks of the same kind (`split_at`), and the ground truth of each part is exactly what that part prints.
"""
from __future__ import annotations

import html as html_lib
from collections.abc import Callable
from dataclasses import dataclass

from data_prep.synth.math_render import RenderedMath
from data_prep.synth.tables import Table
from data_prep.synth.text import InlineMath, Run, run_markdown

PLACEHOLDER = "ph.png"  # a 1×1 transparent PNG in the Story's archive; formulas are drawn over it later
InlineRenderer = Callable[[str], RenderedMath]  # latex → the formula at the body size, inline style


@dataclass(frozen=True)
class Heading:
    level: int
    text: str

    def markdown(self) -> str:
        return "#" * self.level + " " + self.text

    def html(self, math: InlineRenderer) -> str:
        return f"<h{self.level}>{html_lib.escape(self.text)}</h{self.level}>"

    def inline_math(self, math: InlineRenderer) -> list[RenderedMath]:
        return []


@dataclass(frozen=True)
class Paragraph:
    sentences: tuple[Run, ...]

    def markdown(self) -> str:
        return " ".join(run_markdown(s) for s in self.sentences)

    def html(self, math: InlineRenderer) -> str:
        return "<p>" + " ".join(_run_html(s, math) for s in self.sentences) + "</p>"

    def inline_math(self, math: InlineRenderer) -> list[RenderedMath]:
        return [math(p.latex) for s in self.sentences for p in s if isinstance(p, InlineMath)]

    def parts(self) -> int:
        return len(self.sentences)

    def split_at(self, k: int) -> tuple["Paragraph", "Paragraph"]:
        return Paragraph(self.sentences[:k]), Paragraph(self.sentences[k:])


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    items: tuple[Run, ...]
    start: int = 1

    def markdown(self) -> str:
        marks = [f"{self.start + i}. " if self.ordered else "- " for i in range(len(self.items))]
        return "\n".join(m + run_markdown(item) for m, item in zip(marks, self.items))

    def html(self, math: InlineRenderer) -> str:
        tag = "ol" if self.ordered else "ul"
        start = f' start="{self.start}"' if self.ordered and self.start != 1 else ""
        return f"<{tag}{start}>" + "".join(f"<li>{_run_html(i, math)}</li>" for i in self.items) + f"</{tag}>"

    def inline_math(self, math: InlineRenderer) -> list[RenderedMath]:
        return [math(p.latex) for item in self.items for p in item if isinstance(p, InlineMath)]

    def parts(self) -> int:
        return len(self.items)

    def split_at(self, k: int) -> tuple["ListBlock", "ListBlock"]:
        return (ListBlock(self.ordered, self.items[:k], self.start),
                ListBlock(self.ordered, self.items[k:], self.start + k))


@dataclass(frozen=True)
class TableBlock:
    table: Table
    small: bool = False  # printed at a smaller size (a retry when the table was too wide)

    def markdown(self) -> str:
        return self.table.gt_html()

    def html(self, math: InlineRenderer) -> str:
        body = self.table.render_html()
        return f'<div class="small">{body}</div>' if self.small else body

    def inline_math(self, math: InlineRenderer) -> list[RenderedMath]:
        return []

    def parts(self) -> int:
        return len(self.table.body_groups)

    def split_at(self, k: int) -> tuple["TableBlock", "TableBlock"]:
        n = len(self.table.body_groups)
        return TableBlock(self.table.piece(0, k), self.small), TableBlock(self.table.piece(k, n), self.small)


@dataclass(frozen=True)
class DisplayMath:
    math: RenderedMath

    def markdown(self) -> str:
        return f"$$\n{self.math.latex}\n$$"

    def inline_math(self, math: InlineRenderer) -> list[RenderedMath]:
        return []


Block = Heading | Paragraph | ListBlock | TableBlock | DisplayMath
SplittableBlock = Paragraph | ListBlock | TableBlock


def _run_html(run: Run, math: InlineRenderer) -> str:
    out = []
    for piece in run:
        if isinstance(piece, str):
            out.append(html_lib.escape(piece))
        else:
            out.append(placeholder_html(math(piece.latex)))
    return "".join(out)


def placeholder_html(m: RenderedMath) -> str:
    """An invisible box the size of the formula, its bottom `depth` below the text baseline.

    MuPDF puts an image's bottom on the baseline and honours only `vertical-align: sub` (a drop of 0.2 of
    the enclosing font size, measured), so the drop is set through a wrapper's font size. The line box
    then grows to hold the whole formula, depth included, as TeX's would.
    """
    img = f'<img src="{PLACEHOLDER}" style="width:{m.width:.3f}pt;height:{m.height:.3f}pt'
    if m.depth <= 0.01:
        return img + '"/>'
    return f'<span style="font-size:{5 * m.depth:.3f}pt">{img};vertical-align:sub"/></span>'


def block_stats(blocks: list[Block], math: InlineRenderer) -> dict[str, int]:
    tables = [b.table for b in blocks if isinstance(b, TableBlock)]
    formulas = sum(len(b.inline_math(math)) for b in blocks) + sum(1 for b in blocks if isinstance(b, DisplayMath))
    return {"tables": len(tables), "merged_cells": sum(t.merged_cells for t in tables), "formulas": formulas}
