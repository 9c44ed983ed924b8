"""`firered-ocr grpo --config configs/X.yaml [key=value ...]`: GRPO with structural rewards (section `grpo:`).

Top-level imports stay light: the dispatcher imports this module to build its parser.
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="recipe YAML (its `grpo:` section is used)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="override config keys, e.g. model=runs/sft/final data.path=data/tiny max_steps=50 "
                             "rewards.teds=2.0 gt_in_group=true resume=never")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def run(args: argparse.Namespace) -> int:
    import yaml

    from firered_ocr.config_io import ConfigError, to_dict
    from firered_ocr.training.grpo import GRPOConfigError, load_grpo_config

    try:
        cfg = load_grpo_config(args.config, args.overrides)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        print(yaml.safe_dump({"grpo": to_dict(cfg)}, sort_keys=False))
        return 0
    from firered_ocr.model_loading import ModelLoadError
    from firered_ocr.training.data import DataError
    from firered_ocr.training.grpo import run_grpo
    from firered_ocr.training.reward_wiring import RewardConfigError

    try:
        final = run_grpo(cfg)
    except (GRPOConfigError, RewardConfigError, DataError, ModelLoadError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    import os

    if os.environ.get("RANK", "0") == "0":  # under torchrun/accelerate every rank returns here
        print(f"final checkpoint: {final}")
    return 0
