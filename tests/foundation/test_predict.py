"""`firered-ocr predict` end to end on the tiny checkpoint: files, manifest, resume, bad inputs."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from firered_ocr.cli import main

FAST = ["--max-new-tokens", "6", "--dpi", "50", "--batch-size", "2"]


def _manifest(out):
    return [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]


def test_png_and_two_page_pdf(tiny_model_dir, sample_inputs, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["predict", str(sample_inputs / "page.png"), str(sample_inputs / "two.pdf"),
               "--model", str(tiny_model_dir), "--out", str(out), *FAST])
    assert rc == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md"))
    assert files == ["page.md", "two/page-0001.md", "two/page-0002.md"]
    records = _manifest(out)
    assert [r["id"] for r in records] == ["page", "two/page-0001", "two/page-0002"]
    assert [r["page"] for r in records] == [1, 1, 2]
    for r in records:
        assert (out / r["output"]).read_text().endswith("\n")
        assert 0 <= r["n_tokens"] <= 6
        assert r["truncated"] == (r["n_tokens"] == 6)
    # 300x200 pt at 50 dpi = 208.3x138.9 px; PyMuPDF rounds the pixmap outwards
    assert (records[1]["width"], records[1]["height"]) == (209, 139)


def test_resume_skips_finished_pages(tiny_model_dir, sample_inputs, tmp_path):
    out = tmp_path / "out"
    args = ["predict", str(sample_inputs / "two.pdf"), "--model", str(tiny_model_dir), "--out", str(out), *FAST]
    assert main(args) == 0
    first = out / "two/page-0001.md"
    second = out / "two/page-0002.md"
    first.write_text("KEEP\n")  # a finished page must not be redone
    second.unlink()  # a page lost to a kill is redone
    assert main(args) == 0
    assert first.read_text() == "KEEP\n"
    assert second.is_file()
    assert [r["id"] for r in _manifest(out)] == ["two/page-0001", "two/page-0002"]


def test_page_selection(tiny_model_dir, sample_inputs, tmp_path):
    out = tmp_path / "out"
    assert main(["predict", str(sample_inputs / "two.pdf"), "--pages", "2", "--model", str(tiny_model_dir),
                 "--out", str(out), *FAST]) == 0
    assert [r["id"] for r in _manifest(out)] == ["two/page-0002"]


@pytest.mark.parametrize("name, message", [
    ("locked.pdf", "locked.pdf: PDF is encrypted"),
    ("truncated.pdf", "truncated.pdf: not a readable PDF"),
    ("empty.pdf", "empty.pdf: not a readable PDF"),
    ("nopages.pdf", "nopages.pdf: PDF has no pages"),
    ("fake.png", "fake.png: not a readable image"),
    ("notes.txt", "notes.txt: unsupported file type"),
    ("missing.pdf", "missing.pdf: no such file or folder"),
])
def test_bad_input_is_named_and_the_rest_continue(tiny_model_dir, sample_inputs, tmp_path, capsys, name, message):
    out = tmp_path / "out"
    rc = main(["predict", str(sample_inputs / name), str(sample_inputs / "page.png"),
               "--model", str(tiny_model_dir), "--out", str(out), *FAST])
    err = capsys.readouterr().err
    assert rc == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], err
    assert (out / "page.md").is_file()


def test_cli_process_and_usage_errors(tiny_model_dir, sample_inputs, tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "firered_ocr", *a], capture_output=True, text=True)
    res = run("predict", str(sample_inputs / "page.png"), "--model", str(tiny_model_dir),
              "--out", str(tmp_path / "o"), *FAST)
    assert res.returncode == 0, res.stderr
    assert "1 pages in" in res.stdout
    res = run("predict", str(sample_inputs / "two.pdf"), "--pages", "3-1", "--out", str(tmp_path / "p"))
    assert res.returncode == 2 and "error: --pages: '3-1' is not a valid range" in res.stderr
    assert "Traceback" not in res.stderr
    res = run("predict", str(sample_inputs / "page.png"), "--model", str(tmp_path / "nowhere"),
              "--out", str(tmp_path / "q"))
    assert res.returncode == 2 and "nowhere: no such directory" in res.stderr
    assert "Traceback" not in res.stderr


def test_hub_id_offline_gives_one_clear_line(sample_inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    res = subprocess.run([sys.executable, "-m", "firered_ocr", "predict", str(sample_inputs / "page.png"),
                          "--model", "Qwen/Qwen3-VL-2B-Instruct", "--out", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert res.returncode == 2
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert lines == [l for l in lines if l.startswith("error:")] and len(lines) == 1, res.stderr
    assert "pass its directory with --model DIR" in lines[0]
