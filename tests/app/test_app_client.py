"""The launched app driven through gradio_client, as a remote user would: reading an image and a PDF
page, scoring a corpus, and every kind of bad upload answered with a clear message while the app keeps
serving."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import httpx
import pytest
from gradio_client import handle_file


def read_page(client, file, page=1, *, model="@tiny", model_text="", tokens=8, temperature=0.0, gt="",
              gt_file=None):
    return client.predict(handle_file(str(file)), page, model, model_text, tokens, temperature, gt,
                          None if gt_file is None else handle_file(str(gt_file)), api_name="/read_page")


def assert_serving(client, pages):
    status, *_ = client.predict(handle_file(str(pages["image"])), api_name="/inspect_upload")
    assert status == "page.png: image, 1 page(s)"


def test_read_image_with_ground_truth(client, pages, app_handle, gt_markdown):
    status, selector, preview = client.predict(handle_file(str(pages["image"])), api_name="/inspect_upload")
    assert status == "page.png: image, 1 page(s)"
    assert [c[1] for c in selector["choices"]] == [1]
    assert Path(preview).is_file()

    status, rendered, gt_rendered, raw, findings, marked, scores = read_page(client, pages["image"], gt=gt_markdown)
    assert status.startswith("Done: page.png page 1: "), status
    assert "model `" in status and "tiny-qwen3vl-seed0" in status
    assert raw and rendered == raw  # the random model writes something; the rendered view shows it all
    assert gt_rendered == gt_markdown.strip()  # gr.Markdown strips surrounding whitespace
    assert findings["headers"] == ["category", "message", "line", "column", "chars", "excerpt"]
    # The ground truth has a table and the random output none: TEDS is judged, and it is 0.
    table = {row[0]: row[1] for row in scores["data"]}
    assert table["teds"] == 0.0 and table["teds_s"] == 0.0
    assert 0.0 <= table["text_accuracy"] < 1.0
    assert table["text NED (1 - text_accuracy; 0 = identical)"] == round(1.0 - table["text_accuracy"], 4)
    assert table["cell_alignment"] == 0.0
    assert "total (weighted)" in table
    # Highlighted segments put the raw output back together.
    assert "".join(seg["token"] for seg in marked) == raw
    # The model was loaded once, lazily, and is reused by the next call.
    read_page(client, pages["image"], tokens=4)
    assert app_handle.models.loads == 1


def test_ground_truth_file(client, pages, tmp_path, gt_markdown):
    gt = tmp_path / "truth.md"
    gt.write_text(gt_markdown, encoding="utf-8")
    status, _, gt_rendered, _, _, _, scores = read_page(client, pages["image"], gt_file=gt)
    assert status.startswith("Done: page.png"), status
    assert gt_rendered == gt_markdown.strip()
    assert {row[0]: row[1] for row in scores["data"]}["teds"] == 0.0
    latin1 = tmp_path / "latin1.md"
    latin1.write_bytes("caf\xe9".encode("latin-1"))
    status, *_ = read_page(client, pages["image"], gt_file=latin1)
    assert status == "**Error:** latin1.md: not UTF-8 text (byte 3)"
    status, *_ = read_page(client, pages["image"], gt_file=pages["pdf"])
    assert status == "**Error:** two.pdf: ground truth must be a Markdown file (.md, .markdown, .txt)"


def test_read_pdf_page_and_page_cap(client, pages):
    status, selector, _ = client.predict(handle_file(str(pages["pdf"])), api_name="/inspect_upload")
    assert status == "two.pdf: pdf, 2 page(s)"
    assert [c[1] for c in selector["choices"]] == [1, 2]
    status, *_ = read_page(client, pages["pdf"], page=2)
    assert status.startswith("Done: two.pdf page 2: "), status

    status, selector, _ = client.predict(handle_file(str(pages["long_pdf"])), api_name="/inspect_upload")
    assert status == "five.pdf: pdf, 5 page(s); pages 1-3 can be read (page cap 3)"
    assert [c[1] for c in selector["choices"]] == [1, 2, 3]
    status, *_ = read_page(client, pages["long_pdf"], page=5)
    assert status == "**Error:** five.pdf: page 5 is not available (pages 1-3 can be read)"


@pytest.mark.parametrize("name, message", [
    ("not_image", "**Error:** notes.png: not a readable image (cannot identify image file 'notes.png')"),
    ("text_file", "**Error:** notes.txt: unsupported file type '.txt' (upload an image: "),
    ("corrupt_pdf", "**Error:** broken.pdf: not a readable PDF (Failed to open file 'broken.pdf'"),
    ("encrypted_pdf", "**Error:** locked.pdf: PDF is encrypted (password required)"),
])
def test_bad_upload_gets_a_clear_message(client, pages, name, message):
    status, *_ = client.predict(handle_file(str(pages[name])), api_name="/inspect_upload")
    assert status.startswith(message), status
    status, rendered, *_ = read_page(client, pages[name])
    assert status.startswith(message), status
    assert rendered == ""
    assert "/" not in status.split(":", 2)[1]  # names the upload, not the server's temp path
    assert_serving(client, pages)


def test_oversize_upload_refused_by_client_and_server(client, pages, app_handle):
    # gradio_client reads the server's limit and refuses before sending.
    with pytest.raises(ValueError, match="exceeds the maximum file size of 1048576 bytes"):
        client.predict(handle_file(str(pages["oversize"])), api_name="/inspect_upload")
    # A client that ignores the limit gets HTTP 413 from the server, and nothing is kept.
    with open(pages["oversize"], "rb") as fh:
        response = httpx.post(app_handle.url + "gradio_api/upload", files={"files": ("huge.png", fh)})
    assert response.status_code == 413, response.text
    assert "huge.png" not in {p.name for p in app_handle.temp.root.rglob("*")}
    assert_serving(client, pages)


def test_bad_model_choices_give_the_loaders_message(client, pages, monkeypatch, app_handle):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the server runs in this process
    status, *_ = read_page(client, pages["image"], model_text="SomeOrg/not-cached-model")
    assert status.startswith("**Error:** 'SomeOrg/not-cached-model' is a Hugging Face hub id, but the hub "
                             "cannot be reached"), status
    status, *_ = read_page(client, pages["image"], model_text=str(pages["image"].parent))
    assert status == f"**Error:** {pages['image'].parent}: not a model directory (no config.json)"
    loads = app_handle.models.loads
    status, *_ = read_page(client, pages["image"])  # the loaded tiny model is still there
    assert status.startswith("Done: page.png"), status
    assert app_handle.models.loads == loads


def _md_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def test_scoring_tab(client, tmp_path, app_handle):
    good = "<table><tr><td>a</td><td>b</td></tr></table>\n"
    (tmp_path / "p1.md").write_text(good)
    (tmp_path / "p2.md").write_text("<table><tr><td>a</td><td>b</td></tr>\n")  # never closed
    gt = _md_zip(tmp_path / "gt.zip", {"truth/p1.md": good, "truth/p2.md": good})
    status, rates, report, plots, downloads = client.predict(
        [handle_file(str(tmp_path / "p1.md")), handle_file(str(tmp_path / "p2.md"))], [handle_file(str(gt))],
        api_name="/score")
    assert status == "Scored 2 page(s), 2 with ground truth.", status
    rate = {row[0]: row[1] for row in rates["data"]}
    assert rate["unclosed_table"] == "50.0 %" and rate["ragged_table"] == "0.0 %"
    assert report.startswith("# Structural hallucination report")
    assert "![" not in report  # plots go to the gallery
    assert len(plots) >= 3
    names = {Path(d).name for d in downloads}
    assert {"report.zip", "report.md", "report.html", "summary.json"} <= names
    archive = next(Path(d) for d in downloads if Path(d).name == "report.zip")
    with zipfile.ZipFile(archive) as zf:
        members = set(zf.namelist())
        summary = json.loads(zf.read("summary.json"))
    assert {"report.md", "report.html", "summary.json", "samples.jsonl"} <= members
    assert summary["pages"] == 2 and summary["hallucination_rates"]["unclosed_table"] == 0.5
    # Everything the scorer wrote lives in the app's temp dir.
    assert list(app_handle.temp.requests.glob("score-*/report/report.zip"))


def test_scoring_bad_inputs(client, tmp_path, pages):
    evil = _md_zip(tmp_path / "evil.zip", {"../outside.md": "x"})
    status, rates, *_ = client.predict([handle_file(str(evil))], None, api_name="/score")
    assert status == "**Error:** evil.zip: member '../outside.md' points outside the archive; refused"
    assert not (tmp_path / "outside.md").exists()
    status, *_ = client.predict([handle_file(str(pages["image"]))], None, api_name="/score")
    assert status.startswith("**Error:** page.png: unsupported file type '.png' for predictions")
    bad_line = tmp_path / "preds.jsonl"
    bad_line.write_text('{"id": "a", "prediction": "ok"}\n{not json\n')
    status, *_ = client.predict([handle_file(str(bad_line))], None, api_name="/score")
    assert status.startswith("Scored 1 page(s), 0 with ground truth. 1 input problem(s): preds.jsonl:2: "
                             "malformed JSON"), status
    assert_serving(client, pages)


def test_generation_timeout_returns_partial_output(client, pages, app_handle):
    cfg = app_handle.models.cfg
    saved = cfg.generation_timeout_s
    cfg.generation_timeout_s = 0.5  # the model reads it at each call
    try:
        status, rendered, *_ = read_page(client, pages["image"], tokens=2000)
    finally:
        cfg.generation_timeout_s = saved
    assert "(stopped by the generation timeout)" in status, status
    n_tokens = int(status.split(": ")[2].split(" tokens")[0])
    assert 0 < n_tokens < 2000 and rendered
    assert "truncation" in status  # output cut by the timeout is scored as truncated


def test_serving_limits(app_handle, app_cfg):
    assert app_handle.url == f"http://127.0.0.1:{app_cfg.port}/"
    assert app_handle.demo._queue.max_size == app_cfg.queue_size == 16
    assert app_handle.demo._queue.default_concurrency_limit == app_cfg.concurrency == 1
    assert app_handle.demo.max_file_size == 2**20
    # Gradio's upload cache and Python's temp files are inside the app's temp dir while it serves.
    import os
    import tempfile

    assert os.environ["GRADIO_TEMP_DIR"] == str(app_handle.temp.gradio_cache)
    assert tempfile.gettempdir() == str(app_handle.temp.root)
