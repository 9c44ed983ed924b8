"""`firered-ocr sft --config configs/X.yaml [key=value ...]`: supervised fine-tuning (section `sft:`).

Top-level imports stay light: the dispatcher imports this module to build its parser.
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="recipe YAML (its `sft:` section is used)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="override config keys, e.g. data.path=data/tiny optim.max_steps=100 resume=false")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def run(args: argparse.Namespace) -> int:
    import yaml

    from firered_ocr.config_io import ConfigError, load_config, to_dict
    from firered_ocr.model_loading import ModelLoadError
    from firered_ocr.training.data import DataError
    from firered_ocr.training.sft import SFTConfig

    try:
        cfg = load_config(SFTConfig, args.config, args.overrides, section="sft")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        print(yaml.safe_dump({"sft": to_dict(cfg)}, sort_keys=False))
        return 0
    from firered_ocr.training.sft import run_sft

    try:
        run_sft(cfg)
    except (DataError, ModelLoadError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
