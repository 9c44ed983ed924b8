"""The reward components, declared once.

Everything that lists components is built from ``TABLE``: the scorer's default weights
(``rewards.DEFAULT_WEIGHTS``), ``rewards.REWARD_FUNCS``, the validity and ground-truth sets, GRPO's default
reward weights (``firered_ocr.training.grpo``), the app's diagnostics table and the component table in
docs/rewards.md (``markdown_table()``; a test keeps the page equal to it). Adding a component means one row
here and one method of the same name on ``rewards.scoring.PagePair``.

Every component is a score in [0, 1] with 1 = good, or None where it cannot judge the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class Component:
    name: str
    needs_ground_truth: bool
    weight: float  # in the scorer's weighted total (`firered-ocr score`, `score_page`)
    grpo_weight: float  # in GRPO's default reward mix (0: not used unless a recipe asks for it)
    definition: str


# Why these weights: TEDS and text accuracy carry the content, so they weigh most in the scorer; each validity
# check catches one kind of structural hallucination; the count agreements are coarse, so they weigh least.
# GRPO's default mix leaves out teds_s, cell_alignment and the count agreements: they move with teds, and
# several correlated rewards would multiply teds' weight in the group normalisation.
TABLE: tuple[Component, ...] = (
    Component("teds", True, 2.0, 1.0,
              "TEDS of the page's tables, paired one-to-one to maximise the summed score, divided by the larger "
              "table count; None when neither page has a table"),
    Component("teds_s", True, 1.0, 0.0, "the same with TEDS-S (structure only, cell text ignored)"),
    Component("cell_alignment", True, 1.0, 0.0,
              "share of ground-truth cells with a predicted cell at the same grid anchor and equal text, over "
              "TEDS's pairs; unpaired tables count 0"),
    Component("text_accuracy", True, 2.0, 1.0,
              "1 − normalised edit distance of the page's normalised text; None when both texts are empty"),
    Component("table_count", True, 0.5, 0.0, "1 − |tables(pred) − tables(gt)| / the larger count; 1 when both have none"),
    Component("formula_count", True, 0.5, 0.0, "the same with formula counts"),
    Component("table_validity", False, 1.0, 0.5,
              "mean structural validity of the page's tables (closed, rectangular, spans inside the grid; "
              "pipe tables read as HTML); 1 with no table"),
    Component("formula_validity", False, 1.0, 0.5,
              "share of formulas (display and inline) that compile under `check_latex`; 1 with no formula"),
    Component("tag_closure", False, 0.5, 0.5,
              "1 − unclosed or stray constructs / constructs (HTML tags, math delimiters, code fences)"),
    Component("no_repetition", False, 1.0, 0.5,
              "1 − share of the page's characters that are redundant copies inside a repetition loop"),
    Component("no_truncation", False, 1.0, 0.5,
              "0 when the page is truncated (cut mid-construct, or generation hit its token budget), else 1"),
    Component("no_wrapper", False, 0.5, 0.5,
              "0 when the whole output is wrapped in a code fence (```markdown … ```), which the output "
              "convention forbids; else 1 (the content inside is scored as the page either way)"),
)

BY_NAME: Mapping[str, Component] = MappingProxyType({c.name: c for c in TABLE})
NAMES: tuple[str, ...] = tuple(c.name for c in TABLE)
DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({c.name: c.weight for c in TABLE})
GRPO_DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({c.name: c.grpo_weight for c in TABLE if c.grpo_weight})
GT_COMPONENTS: tuple[str, ...] = tuple(c.name for c in TABLE if c.needs_ground_truth)
VALIDITY_COMPONENTS: tuple[str, ...] = tuple(c.name for c in TABLE if not c.needs_ground_truth)


def markdown_table() -> str:
    """The component table as docs/rewards.md shows it."""
    rows = ["| component | needs ground truth | scorer weight | GRPO default weight | definition |",
            "|---|---|---|---|---|"]
    escaped = {c.name: c.definition.replace("|", r"\|") for c in TABLE}  # a bare | would split the cell
    rows += [f"| `{c.name}` | {'yes' if c.needs_ground_truth else 'no'} | {c.weight:g} | {c.grpo_weight:g} | "
             f"{escaped[c.name]} |" for c in TABLE]
    return "\n".join(rows)
