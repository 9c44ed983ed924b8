"""`firered-ocr make-tiny-model OUT_DIR [--seed] [--shape NAME]`: a random-weight Qwen3-VL checkpoint, offline.

`--shape tiny` (default) is the small checkpoint the tests and the demo use; `--shape qwen3-vl-2b` is the
published Qwen3-VL-2B-Instruct architecture (about 2.1 B parameters, 4.3 GB written in bfloat16, ~11 GB
resident once loaded in float32); see firered_ocr/model_shapes.py for the numbers and their sources.
"""
from __future__ import annotations

import argparse

from firered_ocr.model_shapes import SHAPES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out_dir", metavar="OUT_DIR", help="directory to write the checkpoint into")
    p.add_argument("--seed", type=int, default=0, help="weights and tokenizer seed (same seed, same files)")
    p.add_argument("--shape", choices=list(SHAPES), default="tiny",
                   help="architecture: tiny (default), qwen3-vl-2b (the real 2B shape, random weights), "
                        "qwen3-vl-2b-narrow (the 2B structure with tiny widths)")
    p.add_argument("--tokenizer", metavar="TOKENIZER_JSON", default=None,
                   help="use this tokenizer.json (e.g. Qwen's own, with its token ids) instead of training one")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from firered_ocr.model_shapes import shape_config
    from firered_ocr.tiny_model import build_tiny_model

    import dataclasses
    import sys

    cfg = dataclasses.replace(shape_config(args.shape), tokenizer_file=args.tokenizer)
    try:
        out = build_tiny_model(args.out_dir, seed=args.seed, cfg=cfg)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    meta = json.loads((Path(out) / "firered_tiny.json").read_text())
    print(f"wrote {out} (Qwen3VLForConditionalGeneration, shape {args.shape}, {meta['parameters']:,} parameters, "
          f"seed {args.seed})")
    return 0
