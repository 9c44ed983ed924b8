"""`firered-ocr make-tiny-model OUT_DIR [--seed]`: the tiny offline Qwen3-VL checkpoint."""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out_dir", metavar="OUT_DIR", help="directory to write the checkpoint into")
    p.add_argument("--seed", type=int, default=0, help="weights and tokenizer seed (same seed, same files)")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from firered_ocr.tiny_model import build_tiny_model

    out = build_tiny_model(args.out_dir, seed=args.seed)
    meta = json.loads((Path(out) / "firered_tiny.json").read_text())
    print(f"wrote {out} (Qwen3VLForConditionalGeneration, {meta['parameters']:,} parameters, seed {args.seed})")
    return 0
