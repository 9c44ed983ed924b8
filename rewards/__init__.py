"""Structural rewards for document parsing: TEDS, LaTeX validity, table structure, and the hallucination
scorer. Pure Python (no torch); every function here returns in bounded time on any string and never
raises on model output.
"""
from __future__ import annotations

from rewards.page.hallucination import CATEGORIES, Finding, find_hallucinations
from rewards.latex.validity import LatexCheck, check_latex
from rewards.page.markdown_blocks import Block, parse_blocks, parse_page
from rewards.reward_funcs import REWARD_FUNCS
from rewards.scoring import DEFAULT_WEIGHTS, PageScore, score_page, score_pages
from rewards.tables.structure import TableCheck, cell_alignment, check_table, table_validity
from rewards.tables.teds import teds, teds_page

__all__ = [
    "teds", "teds_page", "check_latex", "LatexCheck", "check_table", "TableCheck", "cell_alignment",
    "table_validity", "score_page", "score_pages", "PageScore", "DEFAULT_WEIGHTS", "Finding",
    "find_hallucinations", "CATEGORIES", "REWARD_FUNCS", "parse_blocks", "parse_page", "Block",
]
