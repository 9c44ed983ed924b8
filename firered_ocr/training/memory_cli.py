"""`firered-ocr memory-estimate --config RECIPE [--stage sft|grpo]`: per-GPU memory before renting GPUs.

Prints, for the recipe's stage at the Qwen3-VL-2B shape, the per-GPU estimate under DDP, DeepSpeed ZeRO-2
and ZeRO-3 at 1, 2, 4 and 8 GPUs (weights, gradients, optimizer state, activations), and whether it fits a
card of --gpu-gib. The assumptions behind each line are in firered_ocr/training/memory_estimate.py.
Torch-free: it reads the recipe and counts.
"""
from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="recipe YAML (e.g. configs/qwen3vl_2b_full.yaml)")
    p.add_argument("--stage", choices=["sft", "grpo"], default="sft", help="which section of the recipe")
    p.add_argument("--shape", default="qwen3-vl-2b", help="architecture (firered_ocr/model_shapes.py)")
    p.add_argument("--tokens", type=int, default=None,
                   help="tokens per sequence (default: SFT's max_length, GRPO's page + max_completion_length)")
    p.add_argument("--image-tokens", type=int, default=1240,
                   help="merged vision tokens per page (1240: a US-letter page at 1288 px; A4 gives 1120)")
    p.add_argument("--gpus", default="1,2,4,8", help="GPU counts to tabulate")
    p.add_argument("--gpu-gib", type=float, default=80.0, help="memory of one card, for the fits column")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import yaml

    from firered_ocr.model_shapes import shape_config
    from firered_ocr.training.memory_estimate import GIB, STRATEGIES, estimate, format_table, workload_from_recipe

    try:
        sections = yaml.safe_load(Path(args.config).read_text()) or {}
        cfg = shape_config(args.shape)
        w = workload_from_recipe(sections, args.stage, image_tokens=args.image_tokens, tokens=args.tokens)
        gpus = [int(n) for n in args.gpus.split(",")]
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 2
    kind = f"LoRA r={w.lora_rank}" if w.lora_rank is not None else "full fine-tuning"
    print(f"{args.config} [{args.stage}] at shape {args.shape}: {kind}, {w.sequences} sequence(s) of {w.tokens} "
          f"tokens per GPU per micro-step (GiB per GPU; estimate, not a measurement; add 1-3 GiB for the CUDA "
          f"context and fragmentation)")
    print(format_table(cfg, w, gpus))
    fits = [f"{s}x{n}" for s in STRATEGIES for n in gpus if estimate(cfg, w, s, n)["total"] / GIB <= args.gpu_gib]
    print(f"fits a {args.gpu_gib:g} GiB card: {', '.join(fits) if fits else 'none of these'}")
    return 0
