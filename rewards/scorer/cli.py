"""`firered-ocr score`: score predictions for structural hallucination, with or without ground truth.

Light imports only at the top (the dispatcher imports every sub-command to build --help); the scorer
itself is imported inside ``run``. Never imports torch.
"""
from __future__ import annotations

import argparse
import json
import sys


def _weights(text: str) -> dict[str, float]:
    """--weight name=value, repeatable."""
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return {name.strip(): float(value)}
    except ValueError:
        raise argparse.ArgumentTypeError(f"weight of {name!r} is not a number: {value!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pred", required=True,
                        help="predictions: a folder of .md files (id = relative path without .md) or a JSONL "
                             "file with 'id' and 'prediction' (or 'markdown')")
    parser.add_argument("--gt", default=None,
                        help="ground truth, same forms ('markdown' field first in JSONL), or OmniDocBench's "
                             "ground-truth .json (page id = image name without extension); without it only "
                             "the validity components and categories are scored")
    parser.add_argument("--table-normalization", choices=("pubtabnet", "omnidocbench"), default=None,
                        help="how tables are normalised before TEDS: 'pubtabnet' = as written (PubTabNet's "
                             "metric, the GRPO rewards' choice); 'omnidocbench' = as OmniDocBench's evaluation "
                             "does (th as td, no section tags, decoded entities, NFKC, collapsed whitespace). "
                             "Default: omnidocbench with an OmniDocBench .json --gt, else pubtabnet")
    parser.add_argument("--out", default="score-out",
                        help="output folder (samples.jsonl, summary.json, report.md/html, PNGs); default: score-out")
    parser.add_argument("--weight", type=_weights, action="append", default=[], metavar="NAME=VALUE",
                        help="override one component's weight in the total (repeatable); 0 leaves it out")
    parser.add_argument("--worst", type=int, default=10, help="how many of the worst pages the report shows")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-plots", action="store_true", help="skip the histogram PNGs")


def run(args: argparse.Namespace) -> int:
    from rewards.scorer.corpus import score_corpus

    weights: dict[str, float] = {}
    for w in args.weight:
        weights.update(w)
    try:
        summary = score_corpus(args.pred, args.gt, args.out, weights=weights, worst=args.worst,
                               progress=False if args.no_progress else None, plots=not args.no_plots,
                               table_normalization=args.table_normalization)
    except ValueError as exc:  # a bad --weight name or value
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rates = {k: v for k, v in summary["hallucination_rates"].items() if v is not None}
    print(f"scored {summary['pages']} pages ({summary['pages_with_gt']} with ground truth; tables normalised "
          f"as {summary['table_normalization']}) -> {args.out}")
    print("hallucination rates: " + json.dumps({k: round(v, 4) for k, v in rates.items()}))
    for key in ("teds", "teds_s", "text_ned", "formula_validity"):
        if summary[key] is not None:
            print(f"{key}: {summary[key]:.4f}")
    if summary["missing_predictions"]:
        print(f"warning: {len(summary['missing_predictions'])} ground-truth pages have no prediction "
              f"(listed in summary.json)", file=sys.stderr)
    if summary["unmatched_predictions"]:
        print(f"warning: {len(summary['unmatched_predictions'])} predictions have no ground truth "
              f"(scored validity only; listed in summary.json)", file=sys.stderr)
    if summary["errors"]:
        print(f"{len(summary['errors'])} input error(s); see above or summary.json", file=sys.stderr)
        return 1
    return 0
