"""A `predict --server` process killed (SIGKILL) or interrupted (Ctrl-C) mid-run leaves whole pages only,
and the same command run again reads exactly the pages that are missing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import WIDTHS
from stub_server import StubServer

from firered_ocr.cli import main


def _start(url, pages, out):
    cmd = [sys.executable, "-m", "firered_ocr", "predict", str(pages), "--server", url, "--out", str(out),
           "--concurrency", "2"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_pages(out, n, proc, deadline_s=60.0):
    t0 = time.monotonic()
    while len(list(out.glob("*.md"))) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < deadline_s, "no pages written in time"
        time.sleep(0.02)


def _check_whole_pages(out):
    done = sorted(p.stem for p in out.glob("*.md"))
    for name in done:
        width = WIDTHS[int(name[1:]) - 1]
        assert (out / f"{name}.md").read_text() == f"page {width}x40\n"
    return done


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_stopped_run_leaves_whole_pages_and_a_rerun_finishes(width_pages, tmp_path, sig):
    out = tmp_path / "out"
    with StubServer({w: [0.4] for w in WIDTHS}) as stub:  # slow answers: the run is stopped mid-way
        proc = _start(stub.url, width_pages, out)
        _wait_for_pages(out, 2, proc)
        os.kill(proc.pid, sig)
        stdout, err = proc.communicate(timeout=30)
    done = _check_whole_pages(out)
    assert 2 <= len(done) < len(WIDTHS)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "Traceback" not in err, err
        assert "run the same command again" in stdout and err.rstrip().endswith("interrupted"), (stdout, err)
        # Ctrl-C still rewrote the manifest: the finished pages, in input order
        ids = [json.loads(line)["id"] for line in (out / "predictions.jsonl").read_text().splitlines()]
        assert ids == done
    else:
        assert proc.returncode == -signal.SIGKILL
    with StubServer() as stub:
        assert main(["predict", str(width_pages), "--server", stub.url, "--out", str(out)]) == 0
    missing = [w for w in WIDTHS if f"p{WIDTHS.index(w) + 1}" not in done]
    assert sorted(stub.attempts) == missing and set(stub.attempts.values()) == {1}
    assert _check_whole_pages(out) == [f"p{i}" for i in range(1, 7)]
    ids = [json.loads(line)["id"] for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert ids == [f"p{i}" for i in range(1, 7)]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no half-written files left behind
