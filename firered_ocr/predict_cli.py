"""`firered-ocr predict INPUT... --out DIR`: page images and PDFs to Markdown."""
from __future__ import annotations

import argparse
import sys

# flag -> dotted key in PredictConfig; flags left unset keep the YAML/default value.
_FLAG_KEYS = {
    "out": "out", "dpi": "dpi", "pages": "pages", "batch_size": "batch_size",
    "model": "load.model", "adapter": "load.adapter", "device": "load.device", "dtype": "load.dtype",
    "max_new_tokens": "generation.max_new_tokens", "temperature": "generation.temperature",
    "seed": "generation.seed",
    "server": "server.url", "concurrency": "server.concurrency", "timeout": "server.timeout",
    "max_retries": "server.max_retries",
}
_IN_PROCESS_ONLY = ("adapter", "device", "dtype", "batch_size")  # meaningless when a server does the reading


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files (png, jpg, webp, tiff), PDFs, or folders")
    p.add_argument("--out", help="output folder: one .md per page and predictions.jsonl (default: predictions)")
    p.add_argument("--model", help="hub id or local checkpoint directory (default: the tiny embedded model); "
                   "with --server, the served model's name (default: the one model the server lists)")
    p.add_argument("--adapter", help="LoRA adapter directory to apply on top of --model")
    p.add_argument("--dpi", type=int, help="PDF render resolution (default 200)")
    p.add_argument("--pages", help="PDF pages to read, e.g. 1-3,7 (default: all)")
    p.add_argument("--batch-size", type=int, help="pages per generate() call (default 4)")
    p.add_argument("--max-new-tokens", type=int, help="generation budget per page (default: the checkpoint's, else 4096)")
    p.add_argument("--temperature", type=float, help="0 = greedy (default); >0 samples")
    p.add_argument("--seed", type=int, help="sampling seed")
    p.add_argument("--device", help="cuda, cuda:1, cpu, mps (default: best available)")
    p.add_argument("--dtype", help="bfloat16, float16, float32 (default: bf16 on GPU, fp32 on CPU)")
    p.add_argument("--server", metavar="URL", help="read the pages through this OpenAI-compatible server "
                   "(its base URL, e.g. http://127.0.0.1:8000/v1) instead of in-process; nothing is sent elsewhere")
    p.add_argument("--concurrency", type=int, help="with --server: pages in flight at once (default 8)")
    p.add_argument("--timeout", type=float, help="with --server: seconds for one page's request (default 600)")
    p.add_argument("--max-retries", type=int,
                   help="with --server: retries of a page after a 5xx, timeout or dropped connection (default 3)")
    p.add_argument("--config", help="YAML file with a `predict:` section (flags override it)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, e.g. --set generation.top_p=0.9")


def run(args: argparse.Namespace) -> int:
    from firered_ocr.config_io import ConfigError, flag_overrides, load_config
    from firered_ocr.model_loading import ModelLoadError
    from firered_ocr.page_inputs import parse_page_ranges
    from firered_ocr.predict import PredictConfig, predict_to_dir
    from firered_ocr.server_client import ServerUnreachable

    flag_keys = dict(_FLAG_KEYS)
    if args.server:
        flag_keys["model"] = "server.model"
    overrides = flag_overrides(args, flag_keys, args.set)
    try:
        cfg = load_config(PredictConfig, args.config, overrides, section="predict" if args.config else None)
        cfg.inputs = list(args.inputs)
        if cfg.server.url and not args.server and args.model:  # the URL came from --config or --set
            cfg.server.model = args.model
        if cfg.server.url and any(getattr(args, name) is not None for name in _IN_PROCESS_ONLY):
            raise ConfigError("--adapter, --device, --dtype and --batch-size are for the in-process engine; with "
                              "--server the server holds the model (merge a LoRA adapter before serving it)")
        parse_page_ranges(cfg.pages)  # fail on a bad --pages before loading any model
        if cfg.batch_size < 1 or (cfg.generation.max_new_tokens or 1) < 1 or cfg.dpi < 10:
            raise ConfigError("--batch-size and --max-new-tokens must be >= 1 and --dpi >= 10")
        if cfg.server.url:
            from firered_ocr.server_predict import check_server_config

            check_server_config(cfg.server)
        return predict_to_dir(cfg)
    except (ConfigError, ModelLoadError, ServerUnreachable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
