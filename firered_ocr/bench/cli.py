"""`firered-ocr bench methods --config configs/bench_methods_cpu.yaml [--out DIR] [--seeds N] [--quick] [--report-only]`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="BENCH")
    sub.required = True
    methods = sub.add_parser("methods", help="which RL method lowers structural hallucination most, side by side",
                             description="Every arm from one shared SFT checkpoint under the same training-seconds "
                                         "budget, paired seeds, scored on the same held-out pages "
                                         "(docs/methods-comparison.md).")
    methods.add_argument("--config", default="configs/bench_methods_cpu.yaml",
                         help="YAML file with a `bench_methods:` section (default configs/bench_methods_cpu.yaml)")
    methods.add_argument("--out", help="output folder (default: the config's, runs/bench-methods)")
    methods.add_argument("--seeds", type=int, help="training seeds per regime (default: the config's)")
    methods.add_argument("--quick", action="store_true",
                         help="one seed, the first regime, the config's quick_arms (a ~10-minute run on 2 cores)")
    methods.add_argument("--report-only", action="store_true",
                         help="no training: write results.md and the plots again from OUT/results.json")
    methods.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                         help="override a setting, e.g. --set arm_seconds=60 --set task.n_pages=800")


def run(args: argparse.Namespace) -> int:
    from firered_ocr.config_io import ConfigError, load_config

    from firered_ocr.bench.config import BenchMethodsConfig

    overrides = list(args.set)
    if args.out:
        overrides.append(f"out={args.out}")
    if args.seeds is not None:
        overrides.append(f"seeds={args.seeds}")
    try:
        cfg = load_config(BenchMethodsConfig, args.config, overrides, section="bench_methods")
        if cfg.seeds < 1 or cfg.arm_seconds <= 0 or cfg.eval_every_seconds <= 0:
            raise ConfigError(f"{args.config}: seeds must be >= 1 and arm_seconds, eval_every_seconds > 0")
        if args.report_only:
            from firered_ocr.bench.report import rewrite_report

            rewrite_report(Path(cfg.out), cfg.rl_baseline)
            print(f"written: {Path(cfg.out) / 'results.md'} (from results.json)")
            return 0
        from firered_ocr.bench.runner import run_bench

        run_bench(cfg, quick=args.quick)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
