"""`firered-ocr app`: serve the Gradio demo (see docs/app.md).

Top-level imports stay light: the dispatcher imports this module to build its parser.
"""
from __future__ import annotations

import argparse
import sys

_FLAG_KEYS = {"model": "model", "adapter": "adapter", "device": "device", "host": "host", "port": "port",
              "data_dir": "data_dir", "temp_dir": "temp_dir"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="hub id or local checkpoint directory (default: the model `make demo` "
                                   "trained, runs/demo/grpo/final, when it exists; else the tiny embedded one)")
    p.add_argument("--adapter", help="LoRA adapter directory to apply on top of --model")
    p.add_argument("--device", help="cuda, cpu, mps (default: best available)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; 0.0.0.0 exposes the app to the network)")
    p.add_argument("--port", type=int, help="port (default: 7860 or the next free one)")
    p.add_argument("--data-dir", help="example pages, and the tiny checkpoint when given (default: "
                                      "$FIRERED_OCR_HOME/app, tiny checkpoint shared with `predict`)")
    p.add_argument("--temp-dir", help="the only folder the app writes to while serving (default: a fresh "
                                      "temp folder, removed on exit)")
    p.add_argument("--config", help="YAML file with an `app:` section (flags override it)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any app setting, e.g. --set max_upload_mb=5 --set max_pages=20")


def run(args: argparse.Namespace) -> int:
    from firered_ocr.config_io import ConfigError, flag_overrides, load_config

    from app.config import AppConfig

    overrides = flag_overrides(args, _FLAG_KEYS, args.set)
    try:
        cfg = load_config(AppConfig, args.config, overrides, section="app" if args.config else None)
        cfg.validate()
        print(cfg.resolve_model(), flush=True)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import signal

    from app.ui import launch_app

    def stop(signum, frame):  # SIGTERM ends the app like Ctrl-C does, so that the temp dir is removed
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    handle = launch_app(cfg)  # blocks until Ctrl-C / SIGTERM
    handle.close()
    return 0
