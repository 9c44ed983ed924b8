"""The `firered-ocr` command line: one sub-command per job, each living in its own module.

Every sub-command module exposes `add_arguments(parser)` and `run(args) -> int`. Modules are imported
when the parser is built, so they keep heavy imports (torch, transformers, gradio) inside `run`: that
keeps `firered-ocr --help` instant and lets the torch-free parts (score, prep) run without loading torch.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "make-tiny-model": ("firered_ocr.tiny_model_cli", "write a random-weight Qwen3-VL checkpoint (tiny or the real 2B shape), offline"),
    "predict": ("firered_ocr.predict_cli", "turn page images and PDFs into structured Markdown"),
    "score": ("rewards.scorer.cli", "score predictions for structural hallucination (with or without ground truth)"),
    "prep": ("data_prep.cli", "build training data: synthetic pages or a user's PDF corpus"),
    "sft": ("firered_ocr.training.sft_cli", "supervised fine-tuning on a prepared dataset"),
    "grpo": ("firered_ocr.training.grpo_cli", "GRPO with structural rewards"),
    "memory-estimate": ("firered_ocr.training.memory_cli", "per-GPU memory of a recipe under DDP / ZeRO-2 / ZeRO-3"),
    "bench": ("firered_ocr.bench.cli", "quality benchmarks that train and score: `bench methods` compares the RL methods"),
    "demo": ("firered_ocr.demo", "the CPU demo: tiny model, synthetic corpus, SFT, GRPO, scored side by side"),
    "app": ("app.cli", "the Gradio demo app"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="firered-ocr", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a part not installed in this environment
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
