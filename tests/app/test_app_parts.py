"""The app's parts without a server: diagnostics layout, limits (zips, temp dir, config), examples."""
from __future__ import annotations

import os
import tempfile
import time
import zipfile

import pytest

from app import diagnostics
from app.config import AppConfig
from app.limits import TempArea, inspect_upload, safe_unzip
from firered_ocr.config_io import ConfigError, load_config
from firered_ocr.page_inputs import InputError
from rewards import Finding


def test_position_and_findings_rows():
    text = "ab\ncd<table>\nxy"
    assert diagnostics.position(text, 0) == (1, 1)
    assert diagnostics.position(text, 5) == (2, 3)
    rows = diagnostics.findings_rows(text, [Finding("unclosed_table", "no </table>", 5, 15)])
    assert rows == [["unclosed_table", "no </table>", 2, 3, "5-15", "<table>⏎xy"]]


def test_highlighted_covers_text_and_prefers_narrow_spans():
    text = "0123456789"
    findings = [Finding("truncation", "t", 2, 10), Finding("invalid_formula", "f", 4, 6),
                Finding("missing_table", "m", 10, 10)]
    segs = diagnostics.highlighted(text, findings)
    assert "".join(s for s, _ in segs) == text
    assert segs == [("01", None), ("23", "truncation"), ("45", "invalid_formula"), ("678", "truncation"),
                    ("9", "missing_table")]
    assert diagnostics.highlighted("", [Finding("missing_table", "m", 0, 0)]) == []


def test_summary_and_score_rows():
    fs = [Finding("ragged_table", "", 0, 1), Finding("ragged_table", "", 2, 3), Finding("truncation", "", 4, 4)]
    assert diagnostics.summary_line(fs) == "3 finding(s): 2 ragged_table, 1 truncation."
    assert diagnostics.summary_line([]) == "No structural hallucination found."
    rows = diagnostics.score_rows({"teds": None, "no_truncation": 1.0}, 0.5)
    assert rows == [["teds", "n/a", "yes"], ["no_truncation", 1.0, "no"], ["total (weighted)", 0.5, ""]]
    rows = diagnostics.score_rows({"text_accuracy": 0.75}, 0.75)
    assert rows[1] == ["text NED (1 - text_accuracy; 0 = identical)", 0.25, "yes"]


def test_config_from_overrides_and_validation():
    cfg = load_config(AppConfig, None, ["max_upload_mb=5", "port=8000", "host=0.0.0.0"])
    assert (cfg.max_upload_mb, cfg.port, cfg.host, cfg.max_upload_bytes) == (5.0, 8000, "0.0.0.0", 5 * 2**20)
    assert AppConfig().host == "127.0.0.1"
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(AppConfig, None, ["max_upload=5"])
    with pytest.raises(ConfigError, match="app.max_pages must be > 0"):
        AppConfig(max_pages=0).validate()
    with pytest.raises(ConfigError, match="exceeds app.max_new_tokens_cap"):
        AppConfig(default_max_new_tokens=10, max_new_tokens_cap=5).validate()


def test_oversize_and_pixel_caps(tmp_path):
    from PIL import Image

    big = tmp_path / "wide.png"
    Image.new("L", (4000, 3000)).save(big)  # 12 MP of one colour: a tiny file
    with pytest.raises(InputError, match=r"^wide.png: image is 12 megapixels, over the limit of 10$"):
        inspect_upload(big, AppConfig(max_image_megapixels=10))
    with pytest.raises(InputError, match=r"^wide.png: file is 0.0 MB, over the upload limit of 1e-05 MB$"):
        inspect_upload(big, AppConfig(max_upload_mb=0.00001))


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_safe_unzip(tmp_path):
    z = _zip(tmp_path / "preds.zip", {"preds/a.md": "A", "preds/sub/b.md": "B", "preds/skip.txt": "x"})
    out = safe_unzip(z, tmp_path / "out", suffixes=(".md",), max_files=10, max_bytes=100)
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in out) == ["a.md", "sub/b.md"]
    with pytest.raises(InputError, match="points outside the archive"):
        safe_unzip(_zip(tmp_path / "e.zip", {"../x.md": "x"}), tmp_path / "o2", suffixes=(".md",),
                   max_files=10, max_bytes=100)
    with pytest.raises(InputError, match=r"3 files, over the limit of 2"):
        safe_unzip(_zip(tmp_path / "n.zip", {f"{i}.md": "x" for i in range(3)}), tmp_path / "o3",
                   suffixes=(".md",), max_files=2, max_bytes=100)
    bomb = _zip(tmp_path / "bomb.zip", {"a.md": "0" * 5_000_000})  # 5 MB that compresses to ~5 KB
    assert bomb.stat().st_size < 20_000
    with pytest.raises(InputError, match="once unpacked, over the limit of 1 MB"):
        safe_unzip(bomb, tmp_path / "o4", suffixes=(".md",), max_files=10, max_bytes=2**20)
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="^junk.zip: not a readable zip file"):
        safe_unzip(tmp_path / "junk.zip", tmp_path / "o5", suffixes=(".md",), max_files=10, max_bytes=100)


def test_temp_area_sweeps_redirects_and_restores(tmp_path):
    before_env, before_tmp = os.environ.get("GRADIO_TEMP_DIR"), tempfile.tempdir
    area = TempArea(None, max_age_s=60)
    area.activate()
    assert os.environ["GRADIO_TEMP_DIR"] == str(area.gradio_cache)
    assert tempfile.gettempdir() == str(area.root)
    old = area.request_dir("old-")
    new = area.request_dir("new-")
    past = time.time() - 3600
    os.utime(old, (past, past))
    assert area.sweep() == 1
    assert not old.exists() and new.exists()
    area.close()
    assert not area.root.exists()
    assert os.environ.get("GRADIO_TEMP_DIR") == before_env and tempfile.tempdir == before_tmp

    given = tmp_path / "operator-temp"
    area = TempArea(given, max_age_s=60)
    area.request_dir("x-")
    area.close()
    assert given.is_dir() and not any(given.iterdir())  # the operator's folder stays, emptied of ours


def test_examples_are_cached(app_handle, app_cfg):
    from app.examples import ensure_examples

    examples = app_handle.examples
    assert len(examples) == 2
    assert all(e.image.is_file() and e.markdown.strip() for e in examples)
    assert any("<table" in e.markdown for e in examples)
    root = examples[0].image.parents[1]
    stamp = root.joinpath("manifest.json").stat().st_mtime_ns
    again = ensure_examples(app_cfg, log=lambda *_: pytest.fail("examples were rebuilt"))
    assert [e.image for e in again] == [e.image for e in examples]
    assert root.joinpath("manifest.json").stat().st_mtime_ns == stamp
