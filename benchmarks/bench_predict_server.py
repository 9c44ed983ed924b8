"""`predict --server` throughput: pages per second through a local OpenAI-compatible server at concurrency
1, 4 and 8, against the in-process engine on the same pages, in one run.

By default it builds the tiny checkpoint, starts `transformers serve` on 127.0.0.1 with it (its startup time
is reported apart, as is the in-process model load), reads a synthetic PDF both ways after one warm-up page
each, and prints pages/s and the ratio to the in-process engine. With `--server URL` it measures a server
you started yourself (vLLM or SGLang on a GPU) instead; then pass `--model DIR` for the in-process baseline.

Run: `.venv/bin/python benchmarks/bench_predict_server.py [--pages 8] [--max-new-tokens 32]`
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from firered_ocr.model_loading import LoadConfig
from firered_ocr.predict import GenerationConfig, PredictConfig, Predictor, predict_to_dir
from firered_ocr.server_client import ServerConfig


def make_pdf(path: Path, n_pages: int) -> None:
    import pymupdf

    doc = pymupdf.open()
    for i in range(n_pages):
        page = doc.new_page()  # A4
        page.insert_htmlbox(pymupdf.Rect(72, 72, 520, 700),
                            f"<h1>Report page {i + 1}</h1><p>Revenue grew by {i + 3} % in the quarter.</p>"
                            "<table border=1><tr><td>Region</td><td>2024</td></tr>"
                            f"<tr><td>North</td><td>{40 + i}</td></tr></table>")
    doc.save(path)


def start_serve(model_dir: Path, port: int, log_path: Path, extra: list[str]) -> tuple[subprocess.Popen, float]:
    """`transformers serve` on 127.0.0.1, offline; returns the process and seconds until /health answered."""
    exe = Path(sys.executable).with_name("transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(exe), "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port),
                                 "--device", "cpu", "--log-level", "warning", *extra],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
    while time.perf_counter() - t0 < 300:
        if proc.poll() is not None:
            sys.exit(f"transformers serve exited:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1, trust_env=False).status_code == 200:
                return proc, time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    sys.exit("transformers serve did not answer /health within 300 s")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_run(cfg: PredictConfig, predictor=None) -> float:
    t0 = time.perf_counter()
    rc = predict_to_dir(cfg, predictor=predictor, log=lambda *a: None)
    if rc != 0:
        sys.exit(f"predict failed (exit {rc}) into {cfg.out}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--dpi", type=int, default=50)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--model", help="checkpoint directory (default: build the tiny one)")
    ap.add_argument("--device", default="cpu", help="device of the in-process baseline")
    ap.add_argument("--server", help="measure this running server instead of starting transformers serve")
    ap.add_argument("--served-model", help="the served model's name (default: the one the server lists)")
    ap.add_argument("--serve-args", default="", help="extra flags for transformers serve, e.g. '--continuous-batching'")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = Path(args.model) if args.model else tmp / "model"
        if not args.model:
            from firered_ocr.tiny_model import build_tiny_model

            build_tiny_model(model_dir, seed=0)
        make_pdf(tmp / "pages.pdf", args.pages)
        make_pdf(tmp / "warmup.pdf", 1)
        gen = GenerationConfig(max_new_tokens=args.max_new_tokens)
        base = dict(dpi=args.dpi, generation=gen)

        t0 = time.perf_counter()
        predictor, _ = Predictor.load(LoadConfig(model=str(model_dir), device=args.device))
        load_s = time.perf_counter() - t0
        timed_run(PredictConfig(inputs=[str(tmp / "warmup.pdf")], out=str(tmp / "warm-local"), **base), predictor)
        local_s = timed_run(PredictConfig(inputs=[str(tmp / "pages.pdf")], out=str(tmp / "local"), **base), predictor)
        del predictor

        proc, startup_s = None, None
        url = args.server
        if url is None:
            port = free_port()
            proc, startup_s = start_serve(model_dir, port, tmp / "serve.log", args.serve_args.split())
            url = f"http://127.0.0.1:{port}/v1"
        try:
            server = dict(url=url, model=args.served_model)
            timed_run(PredictConfig(inputs=[str(tmp / "warmup.pdf")], out=str(tmp / "warm-server"),
                                    server=ServerConfig(**server, concurrency=1), **base))
            served = {}
            for n in args.concurrency:
                cfg = PredictConfig(inputs=[str(tmp / "pages.pdf")], out=str(tmp / f"server-{n}"),
                                    server=ServerConfig(**server, concurrency=n), **base)
                served[n] = timed_run(cfg)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)

        same = sum((tmp / f"server-{n}").joinpath("pages", f"page-{i:04d}.md").read_text()
                   == (tmp / "local" / "pages" / f"page-{i:04d}.md").read_text()
                   for n in served for i in range(1, args.pages + 1))
        local_rate = args.pages / local_s
        print(f"{args.pages} pages, max {args.max_new_tokens} new tokens, dpi {args.dpi}; "
              f"in-process model load {load_s:.1f} s" + (f", server startup {startup_s:.1f} s" if startup_s else ""))
        print(f"{'engine':<32}{'seconds':>9}{'pages/s':>9}{'vs in-process':>15}")
        print(f"{'in-process (batch 4)':<32}{local_s:>9.2f}{local_rate:>9.2f}{1.0:>14.2f}x")
        for n, s in served.items():
            print(f"{f'server, concurrency {n}':<32}{s:>9.2f}{args.pages / s:>9.2f}{args.pages / s / local_rate:>14.2f}x")
        print(f"server pages identical to the in-process engine's: {same} of {args.pages * len(served)}")


if __name__ == "__main__":
    main()
