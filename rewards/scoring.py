"""Every reward component of one page, their weighted total, and the page's findings.

The components (each in [0, 1] with 1 = good, or None where it cannot judge) are declared once, with their
definitions and default weights, in ``rewards/components.py``; each is a method of ``PagePair`` here. The
ground-truth ones pair tables one-to-one to maximise the summed TEDS (``hallucination.table_pairs``) and score
each pair with ``tables.shared_rows`` (equal to ``tables.teds.teds``, faster).

``total`` is the weighted mean over the components that are not None and have a weight above 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

from rewards.page.hallucination import Finding, collect_findings, table_pairs
from rewards.page.analysis import PageAnalysis, analyze, loops_not_in
from rewards.page.repetition import no_repetition_score
from rewards.page.text_accuracy import ned
from rewards.page.truncation import find_truncation
from rewards.tables.normalization import check_normalization
from rewards.components import DEFAULT_WEIGHTS, GT_COMPONENTS, NAMES, VALIDITY_COMPONENTS  # noqa: F401 (re-exported)


def aligned_share(pred: dict[tuple[int, int], str], gt: dict[tuple[int, int], str]) -> float:
    """``table_structure.cell_alignment`` on grids computed once per table (the ground truth's grid is then
    built once per GRPO group, not once per completion): the share of ground-truth cells with a predicted
    cell at the same anchor and equal text; no ground-truth cell: 1.0 if the prediction has none either."""
    if not gt:
        return 0.0 if pred else 1.0
    return sum(1 for key, text in gt.items() if pred.get(key) == text) / len(gt)


def _count_agreement(a: int, b: int) -> float:
    return 1.0 if a == b else 1.0 - abs(a - b) / max(a, b)


class PagePair:
    """A prediction and its (optional) ground truth; each component computed once, when first asked."""

    def __init__(self, pred_md: object, gt_md: object = None, *, hit_max_tokens: bool = False,
                 table_normalization: str = "pubtabnet") -> None:
        self.pred: PageAnalysis = analyze(pred_md)
        self.gt: PageAnalysis | None = analyze(gt_md) if gt_md is not None else None
        self.hit_max_tokens = hit_max_tokens
        # How tables are normalised before TEDS: "pubtabnet" (as written) or "omnidocbench" (its evaluation's
        # reduction, for scoring other systems; rewards.tables.normalization says why each exists).
        self.table_normalization = check_normalization(table_normalization)

    @cached_property
    def _pairs(self) -> tuple[list[tuple[int, int]], list[list[float]]]:
        assert self.gt is not None
        return table_pairs(self.pred, self.gt, normalization=self.table_normalization)

    def paired_tables(self) -> list[tuple[int, int, float]]:
        """(predicted table, ground-truth table, TEDS) of each pair TEDS paired; empty without ground truth."""
        if self.gt is None:
            return []
        pairs, scores = self._pairs
        return [(i, j, scores[i][j]) for i, j in pairs]

    def _has_tables(self) -> bool:
        return self.gt is not None and bool(self.pred.tables or self.gt.tables)

    @cached_property
    def loops(self) -> list:
        return loops_not_in(self.pred, self.gt)

    # -- components ---------------------------------------------------------------------------------
    def table_validity(self) -> float:
        return self.pred.table_validity

    def formula_validity(self) -> float:
        return self.pred.formula_validity

    def tag_closure(self) -> float:
        return self.pred.closure.score

    def no_repetition(self) -> float:
        return no_repetition_score(self.pred.text, self.loops)

    def no_truncation(self) -> float:
        reasons = find_truncation(self.pred.page, self.loops, hit_max_tokens=self.hit_max_tokens)
        return 0.0 if reasons else 1.0

    def no_wrapper(self) -> float:
        return 0.0 if self.pred.page.wrapper is not None else 1.0

    def teds(self) -> float | None:
        if not self._has_tables():
            return None
        pairs, scores = self._pairs
        return sum(scores[i][j] for i, j in pairs) / max(len(self.pred.tables), len(self.gt.tables))

    def teds_s(self) -> float | None:
        if not self._has_tables():
            return None
        pairs, scores = table_pairs(self.pred, self.gt, structure_only=True,  # TEDS-S pairs its own way
                                    normalization=self.table_normalization)
        return sum(scores[i][j] for i, j in pairs) / max(len(self.pred.tables), len(self.gt.tables))

    def cell_alignment(self) -> float | None:
        if not self._has_tables():
            return None
        pairs, _ = self._pairs
        total = sum(aligned_share(self.pred.table_anchors[i], self.gt.table_anchors[j]) for i, j in pairs)
        return total / max(len(self.pred.tables), len(self.gt.tables))

    def text_accuracy(self) -> float | None:
        if self.gt is None or not (self.pred.normalized_text or self.gt.normalized_text):
            return None
        return 1.0 - ned(self.pred.normalized_text, self.gt.normalized_text)

    def table_count(self) -> float | None:
        return None if self.gt is None else _count_agreement(len(self.pred.tables), len(self.gt.tables))

    def formula_count(self) -> float | None:
        return None if self.gt is None else _count_agreement(len(self.pred.formulas), len(self.gt.formulas))

    # -----------------------------------------------------------------------------------------------
    def component(self, name: str) -> float | None:
        if name not in _COMPONENT_NAMES:
            raise KeyError(f"unknown reward component {name!r}; known: {', '.join(_COMPONENT_NAMES)}")
        cache = self.__dict__.setdefault("_component_cache", {})
        if name not in cache:
            value = getattr(self, name)()
            cache[name] = None if value is None else min(1.0, max(0.0, float(value)))
        return cache[name]

    def components(self) -> dict[str, float | None]:
        return {name: self.component(name) for name in _COMPONENT_NAMES}

    def total(self, weights: Mapping[str, float] | None = None) -> float:
        w = resolve_weights(weights)
        num = den = 0.0
        for name, weight in w.items():
            if weight > 0:
                value = self.component(name)
                if value is not None:
                    num += weight * value
                    den += weight
        return num / den if den else 0.0

    def findings(self) -> list[Finding]:
        pairs = self._pairs if self.gt is not None else None
        return collect_findings(self.pred, self.gt, hit_max_tokens=self.hit_max_tokens, pairs=pairs, loops=self.loops,
                                normalization=self.table_normalization)


_COMPONENT_NAMES = NAMES
COMPONENTS: tuple[str, ...] = NAMES


def resolve_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Default weights with ``weights`` laid over them; an unknown name or a negative weight is an error
    (a typo in a YAML file must not silently drop a reward)."""
    merged = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in merged:
            raise ValueError(f"unknown reward component {name!r} in weights; known: {', '.join(merged)}")
        if not value >= 0:
            raise ValueError(f"weight of {name!r} must be >= 0, not {value!r}")
        merged[name] = float(value)
    return merged


@dataclass
class PageScore:
    components: dict[str, float | None]
    total: float
    findings: list[Finding] = field(default_factory=list)

    def __getattr__(self, name: str) -> float | None:
        components = self.__dict__.get("components")
        if components is not None and name in components:
            return components[name]
        raise AttributeError(name)

    def to_dict(self) -> dict:
        return {"total": self.total, **self.components, "findings": [f.to_dict() for f in self.findings]}


def score_page(pred_md: str, gt_md: str | None = None, *, weights: Mapping[str, float] | None = None,
               hit_max_tokens: bool = False, table_normalization: str = "pubtabnet") -> PageScore:
    """Every component (None where it cannot judge), the weighted total and the findings of one page.
    ``hit_max_tokens``: generation stopped at its token limit (a truncation whatever the text says).
    ``table_normalization``: "pubtabnet" (tables as written) or "omnidocbench" (``tables.normalization``)."""
    pair = PagePair(pred_md, gt_md, hit_max_tokens=hit_max_tokens, table_normalization=table_normalization)
    return PageScore(pair.components(), pair.total(weights), pair.findings())


def score_pages(preds: list[str], gts: list[str | None] | None = None, weights: Mapping[str, float] | None = None
                ) -> list[PageScore]:
    gts = [None] * len(preds) if gts is None else gts
    if len(gts) != len(preds):
        raise ValueError(f"{len(preds)} predictions but {len(gts)} ground truths")
    resolve_weights(weights)  # fail before any work on a bad weight
    return [score_page(p, g, weights=weights) for p, g in zip(preds, gts)]

