"""An interrupted run continues where it stopped and rewrites nothing that was finished."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time


def _mtimes(root):
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns  # finished files, not temporaries
            for d in ("images", "records") for p in (root / d).iterdir() if not p.name.startswith(".")}


def test_killed_run_resumes_without_rewriting_finished_pages(tmp_path, prep, jsonl):
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "firered_ocr", "prep", "synth", "--profile", "tiny-tables", "--n", "150",
           "--out", str(out), "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "records").is_dir() and sum(n.endswith(".json") for n in os.listdir(out / "records")) >= 10:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "train.jsonl").exists(), "the run finished before it could be interrupted"
    before = _mtimes(out)
    done = [k for k in before if k.startswith("records/")]
    assert 10 <= len(done) < 150
    # A page whose record is lost counts as unfinished: it is made again.
    victim = done[0]
    (out / victim).unlink()
    time.sleep(0.01)  # mtime resolution
    assert prep("synth", "--profile", "tiny-tables", "--n", 150, "--out", out, "--workers", 2) == 0
    after = _mtimes(out)
    assert len(jsonl(out / "train.jsonl")) + len(jsonl(out / "validation.jsonl")) == 150
    # Finished pages are those with a record (an image without one was cut off before its record).
    finished = {k.removeprefix("records/").removesuffix(".json") for k in done if k != victim}
    unchanged = {k: v for k, v in before.items()
                 if k.split("/", 1)[1].rsplit(".", 1)[0] in finished}
    assert len(unchanged) == 2 * len(finished)
    assert all(after[k] == v for k, v in unchanged.items()), "a finished page was written again"
    assert victim in after and not list(out.rglob(".*.tmp"))


def test_lost_final_files_and_pages_are_made_again(synth_dir, tmp_path, prep, jsonl, hashes):
    out = tmp_path / "ds"
    shutil.copytree(synth_dir, out)
    (out / "train.jsonl").unlink()
    (out / "validation.jsonl").unlink()
    lost = sorted((out / "records").iterdir())[-2:]
    for rec in lost:  # the last document loses pages: record and image
        rec.unlink()
        (out / "images" / rec.name.replace(".json", ".png")).unlink()
    before = _mtimes(out)
    assert prep("synth", "--n", 8, "--out", out, "--seed", 3, "--workers", 1, "--dpi", 72) == 0
    after = _mtimes(out)
    assert all(after[k] == v for k, v in before.items())  # survivors untouched
    assert len(after) == len(before) + 4  # the lost pages' images and records are back
    assert (out / "train.jsonl").read_bytes() == (synth_dir / "train.jsonl").read_bytes()
    assert hashes(out) == hashes(synth_dir)


def test_a_different_configuration_refuses_the_folder(synth_dir, tmp_path, capsys, prep):
    out = tmp_path / "ds"
    shutil.copytree(synth_dir, out)
    assert prep("synth", "--n", 8, "--out", out, "--seed", 4, "--dpi", 72) == 2
    assert "different configuration (seed differ)" in capsys.readouterr().err
