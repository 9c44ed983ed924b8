"""Ground truth must pass the project's own checks: the same LaTeX and table validity the rewards apply.

A synthetic page whose ground truth the rewards would call broken would teach the model the wrong thing,
so every formula is checked before it is drawn (`latex_problem`) and every finished page is checked again
as a whole (`assert_page_ok`): it is parsed with the rewards' own Markdown parser, every table must pass
`check_table` and use only the convention's tags and attributes, every formula must pass `check_latex`.
"""
from __future__ import annotations

import re
from functools import lru_cache

import rewards
from rewards.page import markdown_blocks

_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z0-9]+)([^>]*)>")
_ATTR = re.compile(r'\s*([a-zA-Z-]+)\s*=\s*"([^"]*)"')
_ALLOWED_TAGS = frozenset({"table", "tr", "td"})
_ALLOWED_ATTRS = frozenset({"colspan", "rowspan"})


class GroundTruthError(AssertionError):
    """A generated page broke the output convention (a bug in the generator, never an input problem)."""


def convention_problem(table_html: str) -> str | None:
    """Tags other than table/tr/td, attributes other than integer colspan/rowspan ≥ 2."""
    for m in _TAG.finditer(table_html):
        name, attrs = m.group(2).lower(), m.group(3)
        if name not in _ALLOWED_TAGS:
            return f"tag <{name}> is not part of the convention"
        rest = _ATTR.sub("", attrs).strip().rstrip("/").strip()
        if rest:
            return f"unparsable attributes {attrs!r}"
        for key, value in _ATTR.findall(attrs):
            if key not in _ALLOWED_ATTRS or not value.isdigit() or int(value) < 2:
                return f'attribute {key}="{value}" is not part of the convention'
    return None


class GroundTruthChecker:
    """Caches verdicts (formulas and tables repeat); stateless otherwise."""

    @staticmethod
    @lru_cache(maxsize=8192)
    def latex_problem(latex: str) -> str | None:
        result = rewards.check_latex(latex)
        return None if result.ok else (result.reason or "rejected by rewards.check_latex")

    @staticmethod
    @lru_cache(maxsize=1024)
    def table_problem(table_html: str) -> str | None:
        problem = convention_problem(table_html)
        if problem is not None:
            return problem
        result = rewards.check_table(table_html)
        if result.issues or result.validity != 1.0 or result.n_tables != 1:
            return "; ".join(i.message for i in result.issues) or f"check_table: validity {result.validity}"
        return None

    def page_problems(self, markdown: str) -> list[str]:
        page = rewards.parse_page(markdown)
        problems = [f"stray {s.delimiter!r} at {s.start}" for s in page.stray]
        for block in page.all_blocks():
            if block.unclosed:
                problems.append(f"unclosed {block.kind} at {block.start}")
            elif block.kind == markdown_blocks.HTML_TABLE:
                problem = self.table_problem(block.content)
                if problem:
                    problems.append(f"table at {block.start}: {problem}")
            elif block.kind in markdown_blocks.MATH_KINDS:
                problem = self.latex_problem(block.content)
                if problem:
                    problems.append(f"formula {block.content!r}: {problem}")
            elif block.kind != markdown_blocks.TEXT:
                problems.append(f"{block.kind} block at {block.start} is not part of synthetic ground truth")
        return problems

    def assert_page_ok(self, markdown: str, where: str) -> None:
        problems = self.page_problems(markdown)
        if problems:
            raise GroundTruthError(f"{where}: ground truth fails the project's checks: " + "; ".join(problems))
