"""Benchmark: rewards.tables.teds against the PyPI ``table-recognition-metric`` (apted + C Levenshtein), and a
check of our scores against a plain apted + rapidfuzz rendering of PubTabNet's definition.

Run: ``.venv/bin/python benchmarks/bench_teds.py [--quick]``. For each size (5x5, 20x10, 50x10, 100x10) it
generates ground-truth tables (PubTabNet style: thead/tbody, a bold header cell, merged cells) and
predictions with realistic edits (changed cells, a dropped row, merged cells), then prints per pair:
milliseconds for ``rewards.tables.teds`` and for ``table_recognition_metric.TEDS``, the speed ratio, and the
largest difference of our TEDS and TEDS-S from the apted reference (``benchmarks/reference/apted_teds.py``).

table-recognition-metric divides by the tree's node count (table and cells included, inline tags not)
where PubTabNet divides by the number of elements below the table, so its scores differ slightly; its
*distance* is the same, and the last column compares that: ``(1 - score) * denominator`` for both.
Timings are CPU seconds (``time.process_time``) of the best repeat, so other processes on the machine
inflate them less; the slow reference runs fewer repeats at the large sizes.
"""
from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from pathlib import Path

from rewards.tables.html import parse_table, table_tree
from rewards.tables.teds import teds

ROOT = Path(__file__).resolve().parents[1]
SIZES = [(5, 5), (20, 10), (50, 10), (100, 10)]


def _load(name: str):
    path = ROOT / "benchmarks" / "reference" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.process_time()
        out = fn()
        best = min(best, time.process_time() - start)
    return best, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 5x5 and 20x10 (a smoke run)")
    parser.add_argument("--pairs", type=int, default=2, help="generated pairs per size (100x10: one)")
    args = parser.parse_args(argv)
    from table_recognition_metric import TEDS as TrmTEDS

    pairs, ref = _load("table_pairs"), _load("apted_teds")
    trm = TrmTEDS()
    rng = random.Random(2024)
    sizes = SIZES[:2] if args.quick else SIZES
    print(f"{'size':>7} {'pair':>4} {'ours ms':>9} {'ours-S ms':>9} {'trm ms':>10} {'speed-up':>9} "
          f"{'|TEDS-ref|':>11} {'|TEDS-S-ref|':>12} {'|d-d_trm|':>10}")
    worst = 0.0
    for rows, cols in sizes:
        cells = rows * cols
        ours_rep = 20 if cells <= 200 else 5
        trm_rep = 10 if cells <= 25 else (3 if cells <= 200 else 1)
        for k in range(args.pairs if cells <= 500 else 1):  # apted needs ~30 s per 100x10 pair
            gt = pairs.grid_table(rows, cols, rng, merges=max(1, rows // 10))
            pred = pairs.edit_table(gt, rng, changed=max(2, cells // 25), merges=max(1, rows // 20))
            a, b = pairs.to_html(pred), pairs.to_html(gt)
            t_ours, s = best_time(lambda a=a, b=b: teds(a, b), ours_rep)
            t_ours_s, s_s = best_time(lambda a=a, b=b: teds(a, b, structure_only=True), ours_rep)
            t_trm, s_trm = best_time(lambda a=a, b=b: trm(a, b), trm_rep if k == 0 else 1)
            diff = abs(s - ref.reference_teds(a, b))
            diff_s = abs(s_s - ref.reference_teds(a, b, True)) if cells <= 500 else float("nan")
            n_ours = max(table_tree(parse_table(x)).n_elements for x in (a, b))
            n_trm = max(len(table_tree(parse_table(x), th_as_td=False)) for x in (a, b))
            d_diff = abs((1 - s) * n_ours - (1 - s_trm) * n_trm)
            worst = max(worst, diff, d_diff, 0.0 if diff_s != diff_s else diff_s)
            print(f"{rows:>3}x{cols:<3} {k:>4} {t_ours * 1e3:9.2f} {t_ours_s * 1e3:9.2f} {t_trm * 1e3:10.1f} "
                  f"{t_trm / t_ours:8.0f}x {diff:11.1e} {diff_s:12.1e} {d_diff:10.1e}")
    print(f"largest difference from the apted reference (scores and distances): {worst:.1e}")
    print("TEDS-S reference checked up to 500 cells (apted is as slow as table-recognition-metric).")
    return 0 if worst <= 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
