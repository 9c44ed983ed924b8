"""`predict --server` against a real OpenAI-compatible server: `transformers serve` with the tiny checkpoint,
on 127.0.0.1, offline. At temperature 0 it must write what the in-process engine writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from stub_server import free_port

from firered_ocr.cli import main

pytestmark = pytest.mark.slow
# 32 tokens: long enough that the tiny model emits `<|im_start|>` mid-answer on the A4 page, which
# transformers serve leaves in its content and the in-process decode drops.
READ = ["--max-new-tokens", "32", "--dpi", "50"]


def start_transformers_serve(model_dir: Path, port: int, log_path: Path, extra=()) -> subprocess.Popen:
    """`transformers serve MODEL` on 127.0.0.1:port, offline; the caller stops it."""
    exe = Path(sys.executable).with_name("transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with log_path.open("w") as log:
        return subprocess.Popen([str(exe), "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port),
                                 "--device", "cpu", "--log-level", "warning", *extra],
                                stdout=log, stderr=subprocess.STDOUT, env=env)


def wait_healthy(proc: subprocess.Popen, port: int, log_path: Path, deadline_s: float = 180.0) -> float:
    """Seconds until /health answers; fails with the server's log if it exits or never answers."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        if proc.poll() is not None:
            raise RuntimeError(f"transformers serve exited ({proc.returncode}):\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0, trust_env=False).status_code == 200:
                return time.monotonic() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"transformers serve not healthy after {deadline_s:.0f} s:\n{log_path.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def served_tiny_model(tiny_model_dir, tmp_path_factory):
    pytest.importorskip("openai", reason="transformers serve needs the openai package (pip install -e '.[dev]')")
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    proc = start_transformers_serve(tiny_model_dir, port, log_path)
    try:
        wait_healthy(proc, port, log_path)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def mixed_pages(tmp_path_factory) -> Path:
    """A PNG, a two-page PDF and an A4 report page."""
    import pymupdf
    from PIL import Image, ImageDraw

    d = tmp_path_factory.mktemp("mixed")
    img = Image.new("RGB", (320, 160), "white")
    ImageDraw.Draw(img).text((10, 10), "Total 42", fill="black")
    img.save(d / "page.png")
    doc = pymupdf.open()
    for i in range(2):
        doc.new_page(width=300, height=200).insert_text((40, 60), f"Page {i + 1}: revenue 12{i}", fontsize=14)
    doc.save(d / "two.pdf")
    a4 = pymupdf.open()
    a4.new_page().insert_htmlbox(pymupdf.Rect(72, 72, 520, 700), "<h1>Report page 1</h1><p>Revenue grew by 3 % "
                                 "in the quarter.</p><table border=1><tr><td>Region</td><td>2024</td></tr>"
                                 "<tr><td>North</td><td>40</td></tr></table>")
    a4.save(d / "z_a4.pdf")
    return d


def _outputs(out: Path):
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    texts = {r["id"]: (out / r["output"]).read_text() for r in records}
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records], texts


def test_server_engine_writes_what_the_in_process_engine_writes(served_tiny_model, tiny_model_dir, mixed_pages,
                                                                tmp_path):
    local, served = tmp_path / "local", tmp_path / "served"
    assert main(["predict", str(mixed_pages), "--model", str(tiny_model_dir), "--out", str(local), *READ]) == 0
    assert main(["predict", str(mixed_pages), "--server", served_tiny_model, "--out", str(served),
                 "--concurrency", "3", *READ]) == 0
    local_records, local_texts = _outputs(local)
    served_records, served_texts = _outputs(served)
    assert [r["id"] for r in served_records] == ["page", "two/page-0001", "two/page-0002", "z_a4/page-0001"]
    assert served_texts == local_texts  # greedy: the same tokens, through HTTP or not
    assert all(t.strip() for t in served_texts.values())  # a real comparison, not two empty pages
    # Same fields and values; the model's name is the checkpoint path in both (serve names it by its path).
    assert served_records == local_records
    assert all(r["truncated"] and r["n_tokens"] == 32 for r in served_records)


def test_the_served_model_is_found_without_model_and_a_wrong_name_is_refused(served_tiny_model, mixed_pages,
                                                                            tmp_path, capsys):
    rc = main(["predict", str(mixed_pages / "page.png"), "--server", served_tiny_model, "--model", "Qwen/other",
               "--out", str(tmp_path / "o"), *READ])
    assert rc == 2 and "not 'Qwen/other'" in capsys.readouterr().err
