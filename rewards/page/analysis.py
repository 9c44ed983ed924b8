"""One parse of a page, shared by every reward component and every finding.

``analyze(md)`` parses a page once and computes each derived view (tables, table checks, formula checks,
loops, closure, normalised text) the first time something asks for it. It is cached by the page text
because TRL calls each reward function separately on the same completions: without the cache, eleven
components would parse every completion eleven times. LaTeX checks are cached by formula source, table
checks and cell grids by table source, as the completions of one GRPO group repeat most of both (and the
ground truth's table is then analysed once for the whole group).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from rewards.latex.validity import LatexCheck, check_latex
from rewards.page.markdown_blocks import (HTML_TABLE, LATEX_TABLE, Block, ParsedPage, as_text, parse_page,
                                          pipe_table_html)
from rewards.page.repetition import Loop, find_loops
from rewards.tables.html import parse_table
from rewards.tables.latex_tabular import tabular_html
from rewards.tables.grid import table_grid
from rewards.tables.structure import TableCheck, check_table
from rewards.page.tag_closure import ClosureReport, check_closure
from rewards.page.text_accuracy import normalize_text

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class TableInfo:
    block: Block
    html: str  # the table as HTML (pipe and LaTeX tables converted), what every table check reads


@lru_cache(maxsize=8192)
def cached_check_latex(latex: str) -> LatexCheck:
    return check_latex(latex)


@lru_cache(maxsize=1024)
def cached_check_table(html: str) -> TableCheck:
    return check_table(html)


@lru_cache(maxsize=1024)
def cached_anchors(html: str) -> dict[tuple[int, int], str]:
    """The table's cells by (row, column) anchor, with normalised text (``table_grid``)."""
    table = parse_table(html)
    return table_grid(table).anchors() if table is not None else {}


def _table_html(block: Block) -> str:
    if block.kind == HTML_TABLE:
        return block.content
    if block.kind == LATEX_TABLE:
        return cached_tabular_html(block.content)
    return pipe_table_html(block)


@lru_cache(maxsize=1024)
def cached_tabular_html(source: str) -> str:
    return tabular_html(source)


class PageAnalysis:
    """Lazily computed views of one page. Offsets are into ``text``."""

    def __init__(self, md: object) -> None:
        self.page: ParsedPage = parse_page(md)
        # The output as written (a whole-output fence's lines are blanked in ``page.text`` only).
        self.text: str = as_text(md)

    @cached_property
    def tables(self) -> list[TableInfo]:
        return [TableInfo(b, _table_html(b)) for b in self.page.tables()]

    @cached_property
    def table_checks(self) -> list[TableCheck]:
        return [cached_check_table(t.html) for t in self.tables]

    @cached_property
    def table_validity(self) -> float:
        """Mean ``table_validity`` (closure × grid consistency) of the page's tables; 1.0 without tables."""
        if not self.tables:
            return 1.0
        return sum(c.validity for c in self.table_checks) / len(self.tables)

    @cached_property
    def table_rows(self) -> list[int]:
        """Rows of each table's grid (its first, outer table: nested tables come after it in ``shapes``)."""
        return [c.shapes[0][0] if c.shapes else 0 for c in self.table_checks]

    @cached_property
    def table_anchors(self) -> list[dict[tuple[int, int], str]]:
        return [cached_anchors(t.html) for t in self.tables]

    @cached_property
    def formulas(self) -> list[tuple[Block, LatexCheck]]:
        return [(f, cached_check_latex(f.content)) for f in self.page.formulas()]

    @cached_property
    def formula_validity(self) -> float:
        """Share of formulas that pass ``check_latex``; 1.0 without formulas."""
        if not self.formulas:
            return 1.0
        return sum(1 for _, c in self.formulas if c.ok) / len(self.formulas)

    @cached_property
    def loops(self) -> list[Loop]:
        return find_loops(self.text)

    @cached_property
    def closure(self) -> ClosureReport:
        return check_closure(self.page)

    @cached_property
    def normalized_text(self) -> str:
        return normalize_text(self.page)

    @cached_property
    def squashed(self) -> str:
        """The page with all whitespace removed (to ask whether a repeated region also occurs in it)."""
        return _SPACE.sub("", self.text)


def analyze(md: object) -> PageAnalysis:
    """The (cached) analysis of a page; anything that is not a string is read as text first."""
    return _analyze(md if isinstance(md, str) else as_text(md))


@lru_cache(maxsize=512)
def _analyze(md: str) -> PageAnalysis:
    return PageAnalysis(md)


def loops_not_in(pred: PageAnalysis, gt: PageAnalysis | None) -> list[Loop]:
    """Pred's loops, less those whose whole repeated region the ground truth also holds (a real page can
    repeat: a column of identical cells is not a hallucination when the ground truth has it too)."""
    if gt is None:
        return pred.loops
    return [lp for lp in pred.loops if _SPACE.sub("", pred.text[lp.start : lp.end]) not in gt.squashed]
