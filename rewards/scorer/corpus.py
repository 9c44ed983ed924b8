"""Score a corpus of predictions for structural hallucination, with or without ground truth.

``score_corpus(pred, gt, out_dir)`` reads both inputs (``scorer_inputs``: folders of ``.md`` or JSONL),
scores every prediction with ``score_page``'s components and findings, and writes to ``out_dir``:

- ``samples.jsonl``: one line per scored page: id, source, whether it had ground truth, every component
  (null where it cannot judge), the total, and the findings (category, message, start, end, line, column,
  excerpt; offsets are into the prediction);
- ``summary.json``: the rate of each hallucination category (the share of pages with at least one
  finding of it; the ground-truth categories over the pages that have ground truth), finding counts,
  the mean of each component over the pages it judged, text NED (1 − text accuracy), formula validity
  over all formulas, table and formula counts, missing/unmatched ids and input errors;
- ``report.md``, ``report.html`` and one ``hist_<component>.png`` per component (``report``).

A prediction whose id has no ground truth is still scored (validity only) and listed under
``unmatched_predictions``; a ground-truth id with no prediction is listed under ``missing_predictions``
and not scored.
"""
from __future__ import annotations

import heapq
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Callable, Mapping

from rewards.page.hallucination import CATEGORIES, GT_CATEGORIES, Finding
from rewards.scoring import COMPONENTS, PagePair, resolve_weights
from rewards.scorer.inputs import LoadResult, load_pages
from rewards.scorer.omnidocbench import is_omnidocbench
from rewards.tables.normalization import check_normalization


def _stderr(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _locate(text: str, f: Finding) -> dict:
    line = text.count("\n", 0, f.start) + 1
    col = f.start - (text.rfind("\n", 0, f.start) + 1) + 1
    excerpt = text[f.start : min(f.end, f.start + 80)].replace("\n", "⏎")
    return {**f.to_dict(), "line": line, "column": col, "excerpt": excerpt}


class _Tally:
    """Running sums for the summary, and the worst pages for the report."""

    def __init__(self, worst: int) -> None:
        self.pages = self.pages_gt = self.unlabelled = 0
        self.values: dict[str, list[float]] = {name: [] for name in (*COMPONENTS, "total")}
        self.pages_with = Counter()
        self.findings = Counter()
        self.formulas = self.invalid_formulas = self.tables = self.tables_gt = 0
        self.worst: list[tuple[float, int, dict]] = []
        self.keep = worst

    def add(self, sample: dict, pair: PagePair) -> None:
        self.pages += 1
        self.pages_gt += sample["has_gt"]
        for name in self.values:
            if sample[name] is not None:
                self.values[name].append(sample[name])
        cats = [f["category"] for f in sample["findings"]]
        self.findings.update(cats)
        self.pages_with.update(set(cats))
        self.formulas += len(pair.pred.formulas)
        self.invalid_formulas += sum(1 for _, c in pair.pred.formulas if not c.ok)
        self.tables += len(pair.pred.tables)
        self.tables_gt += len(pair.gt.tables) if pair.gt is not None else 0
        heapq.heappush(self.worst, (-sample["total"], self.pages, sample))
        if len(self.worst) > self.keep:
            heapq.heappop(self.worst)

    def worst_samples(self) -> list[dict]:
        return [s for _, _, s in sorted(self.worst, key=lambda t: (-t[0], t[1]))]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _summary(t: _Tally, preds: LoadResult, gts: LoadResult | None, pred: str, gt: str | None,
             weights: Mapping[str, float], errors: list[str]) -> dict:
    rates: dict[str, float | None] = {}
    for cat in CATEGORIES:
        denominator = t.pages_gt if cat in GT_CATEGORIES else t.pages
        rates[cat] = t.pages_with[cat] / denominator if denominator else None
    means = {name: _mean(vals) for name, vals in t.values.items()}
    gt_ids = set(gts.pages) if gts is not None else set()
    return {
        "inputs": {"pred": pred, "gt": gt},
        "pages": t.pages,
        "pages_with_gt": t.pages_gt,
        "unlabelled_gt": t.unlabelled,
        "hallucination_rates": rates,
        "pages_with_finding": {cat: t.pages_with[cat] for cat in CATEGORIES},
        "findings": {cat: t.findings[cat] for cat in CATEGORIES},
        "means": means,
        "judged": {name: len(vals) for name, vals in t.values.items()},
        "teds": means["teds"],
        "teds_s": means["teds_s"],
        "text_ned": None if means["text_accuracy"] is None else 1.0 - means["text_accuracy"],
        "formula_validity": (t.formulas - t.invalid_formulas) / t.formulas if t.formulas else None,
        "formulas": t.formulas,
        "invalid_formulas": t.invalid_formulas,
        "tables": t.tables,
        "tables_gt": t.tables_gt,
        "missing_predictions": sorted(gt_ids - set(preds.pages)),
        "unmatched_predictions": sorted(set(preds.pages) - gt_ids) if gts is not None else [],
        "errors": errors,
        "weights": dict(weights),
        "definitions": dict(CATEGORIES),
    }


def score_corpus(pred: str | Path, gt: str | Path | None = None, out_dir: str | Path = "score-out", *,
                 weights: Mapping[str, float] | None = None, worst: int = 10, progress: bool | None = None,
                 plots: bool = True, on_error: Callable[[str], None] | None = _stderr,
                 table_normalization: str | None = None) -> dict:
    """Score every prediction, write the outputs listed in the module docstring, return the summary.
    ``plots=False`` skips the histograms (matplotlib takes ~0.1 s a plot). ``table_normalization``:
    "pubtabnet" or "omnidocbench" (``rewards.tables.normalization``); None picks "omnidocbench" when the
    ground truth is OmniDocBench's JSON, else "pubtabnet"."""
    from tqdm import tqdm

    from rewards.scorer.report import write_report

    resolved = resolve_weights(weights)
    if table_normalization is None:
        table_normalization = "omnidocbench" if gt is not None and is_omnidocbench(Path(gt)) else "pubtabnet"
    check_normalization(table_normalization)
    errors: list[str] = []

    def error(message: str) -> None:
        errors.append(message)
        if on_error is not None:
            on_error(message)

    preds = load_pages(pred, "pred", error)
    gts = load_pages(gt, "gt", error) if gt is not None else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tally = _Tally(worst)
    show = sys.stderr.isatty() if progress is None else progress
    with open(out / "samples.jsonl", "w", encoding="utf-8") as fh:
        for page_id in tqdm(sorted(preds.pages), desc="scoring", unit="page", disable=not show):
            page = preds.pages[page_id]
            truth = gts.pages.get(page_id) if gts is not None else None
            gt_text = truth.text if truth is not None else None
            tally.unlabelled += truth is not None and gt_text is None
            try:
                pair = PagePair(page.text, gt_text, hit_max_tokens=page.hit_max_tokens,
                                table_normalization=table_normalization)
                components = pair.components()
                sample = {"id": page_id, "source": page.source, "has_gt": gt_text is not None,
                          "hit_max_tokens": page.hit_max_tokens, "chars": len(page.text or ""),
                          "total": pair.total(resolved), **components,
                          "table_pairs": [{"pred": i, "gt": j, "teds": t} for i, j, t in pair.paired_tables()],
                          "findings": [_locate(pair.pred.text, f) for f in pair.findings()]}
            except Exception as exc:  # noqa: BLE001 - one page must not lose the corpus; reported, exit != 0
                error(f"{page.source}: scoring failed ({type(exc).__name__}: {exc}); page skipped")
                continue
            fh.write(json.dumps(sample, ensure_ascii=False) + "\n")
            tally.add(sample, pair)
    summary = _summary(tally, preds, gts, str(pred), None if gt is None else str(gt), resolved, errors)
    summary["table_normalization"] = table_normalization
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_report(out, summary, tally.worst_samples(), tally.values if plots else {})
    return summary
