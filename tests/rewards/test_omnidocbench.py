"""OmniDocBench agreement: its table normalisation, its ground-truth JSON read directly, and (with the shared
fixture) per-table TEDS equal to OmniDocBench's own results on one system's real outputs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from firered_ocr.cli import main as firered_ocr
from rewards import teds
from rewards.scorer.corpus import score_corpus
from rewards.scorer.omnidocbench import page_id, page_markdown
from rewards.tables.normalization import normalize_table, omnidocbench_table

GT_TABLE = ('<table>\n<thead>\n<tr>\n <th rowspan="2">Item</th>\n <th colspan="2">Price ～ 2020</th>\n</tr>\n<tr>\n'
            " <th>A</th>\n <th>B</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n <td>x<sup>2</sup></td>\n <td>1&nbsp;000</td>\n"
            " <td>&amp;</td>\n</tr>\n</tbody>\n</table>")


def test_omnidocbench_normalisation() -> None:
    assert omnidocbench_table(GT_TABLE) == (
        '<table><tr><td rowspan="2">Item</td><td colspan="2">Price ~ 2020</td></tr><tr><td>A</td><td>B</td></tr>'
        "<tr><td>x2</td><td>1 000</td><td>&amp;</td></tr></table>")
    styled = ('<table border="1" class="t"><colgroup><col width="5"></colgroup><tr><td style="x" align="left">'
              "<span>a\n b</span></td><td><math alttext=\"x^2\"><mi>x</mi></math> m</td></tr></table>")
    assert omnidocbench_table(styled) == "<table><tr><td>a b</td><td>$x^2$ m</td></tr></table>"
    # newlines are deleted, not spaced (OmniDocBench joins CJK text split over lines this way)
    assert omnidocbench_table("<table><tr><td>侵蚀\n沟道</td></tr></table>") == "<table><tr><td>侵蚀沟道</td></tr></table>"
    assert normalize_table(GT_TABLE, "pubtabnet") == GT_TABLE
    assert omnidocbench_table("no table here") == "no table here"
    with pytest.raises(ValueError, match="unknown table normalization 'x'"):
        normalize_table(GT_TABLE, "x")


def test_normalisation_is_what_makes_the_two_forms_agree() -> None:
    plain = ('<table><tr><td rowspan="2">Item</td><td colspan="2">Price ~ 2020</td></tr><tr><td>A</td><td>B</td>'
             "</tr><tr><td>x2</td><td>1 000</td><td>&amp;</td></tr></table>")
    assert teds(omnidocbench_table(plain), omnidocbench_table(GT_TABLE)) == 1.0
    assert teds(plain, GT_TABLE) < 0.8  # PubTabNet's metric, as written: sections, ～, <sup>, &nbsp; all cost


def element(category: str, order: int | None, **fields) -> dict:
    return {"category_type": category, "order": order, "ignore": False, "poly": [0] * 8, **fields}


PAGE = {
    "page_info": {"image_path": "imgs/report.pdf_3.jpg", "page_no": 3},
    "layout_dets": [
        element("text_block", 3, text="Body text with $ x^2 $ and $10."),  # OmniDocBench's spaced inline math
        element("title", 1, text="Heading"),
        element("equation_isolated", 4, latex="$$E = mc^2$$"),
        element("table", 5, html="<table><tr><td>1</td></tr></table>", latex="\\begin{tabular}{l}1\\end{tabular}"),
        element("table_caption", 2, text="Table 1: ignored"),
        element("header", None, text="running header"),
        element("page_number", None, text="7"),
        element("figure", 6),
        element("text_block", 7, text="ignored by flag", ignore=True),
        element("reference", 8, text="[1] A reference."),
    ],
    "extra": {"relation": []},
}


def test_page_markdown_and_id() -> None:
    assert page_id(PAGE) == "report.pdf_3"
    assert page_markdown(PAGE) == ("# Heading\n\nBody text with $x^2$ and $10.\n\n$$\nE = mc^2\n$$\n\n"
                                   "<table><tr><td>1</td></tr></table>\n\n[1] A reference.\n")
    latex_only = {"page_info": {"image_path": "a.png"}, "layout_dets": [element("table", 1, latex="\\begin{tabular}")]}
    assert page_markdown(latex_only) == "\\begin{tabular}\n"


def test_score_command_reads_omnidocbench_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    second = {"page_info": {"image_path": "b.png"},
              "layout_dets": [element("table", 1, html="<table><thead><tr><th>h</th></tr></thead>"
                                                        "<tbody><tr><td>v</td></tr></tbody></table>")]}
    gt = tmp_path / "OmniDocBench.json"
    gt.write_text(json.dumps([PAGE, second, {"layout_dets": []}, "junk"]), encoding="utf-8")
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "report.pdf_3.md").write_text(f"```markdown\n{page_markdown(PAGE)}```\n", encoding="utf-8")
    (pred / "b.md").write_text("<table><tr><td>h</td></tr><tr><td>v</td></tr></table>\n", encoding="utf-8")
    out = tmp_path / "out"
    code = firered_ocr(["score", "--gt", str(gt), "--pred", str(pred), "--out", str(out), "--no-plots", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1  # the two broken pages are reported, the rest is scored
    assert f"{gt}: page 2: no page_info.image_path to name the page; skipped" in err
    assert f"{gt}: page 3: not an OmniDocBench page (no 'layout_dets' list); skipped" in err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["table_normalization"] == "omnidocbench" and summary["pages_with_gt"] == 2
    assert "normalised before TEDS as omnidocbench" in (out / "report.md").read_text(encoding="utf-8")
    samples = {s["id"]: s for s in map(json.loads, (out / "samples.jsonl").read_text(encoding="utf-8").splitlines())}
    assert [f["category"] for f in samples["report.pdf_3"]["findings"]] == ["output_wrapper"]
    assert samples["report.pdf_3"]["text_accuracy"] == 1.0 and samples["report.pdf_3"]["teds"] == 1.0
    assert samples["b"]["teds"] == 1.0  # <th>/<thead>/<tbody> against plain rows: equal once normalised
    as_written = score_corpus(pred, gt, tmp_path / "out2", plots=False, progress=False, on_error=None,
                              table_normalization="pubtabnet")
    assert as_written["table_normalization"] == "pubtabnet" and as_written["teds"] == pytest.approx((1 + (1 - 2 / 6)) / 2)


def test_the_one_command_needs_no_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gt = tmp_path / "OmniDocBench.json"
    gt.write_text(json.dumps([PAGE]), encoding="utf-8")
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "report.pdf_3.md").write_text(page_markdown(PAGE), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert firered_ocr(["score", "--gt", str(gt), "--pred", str(pred), "--no-plots", "--no-progress"]) == 0
    summary = json.loads((tmp_path / "score-out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["pages_with_gt"] == 1 and summary["teds"] == 1.0 and summary["text_ned"] == 0.0


def test_bad_omnidocbench_json(tmp_path: Path) -> None:
    gt = tmp_path / "gt.json"
    gt.write_text('{"not": "a list"}', encoding="utf-8")
    errors: list[str] = []
    score_corpus(tmp_path, gt, tmp_path / "out", plots=False, progress=False, on_error=errors.append)
    assert f"{gt}: expected OmniDocBench ground truth (a JSON list of pages), got dict" in errors
    gt.write_text("[{", encoding="utf-8")
    errors.clear()
    score_corpus(tmp_path, gt, tmp_path / "out", plots=False, progress=False, on_error=errors.append)
    assert any(e.startswith(f"{gt}: malformed JSON") for e in errors)
    errors.clear()
    score_corpus(gt, None, tmp_path / "out", plots=False, progress=False, on_error=errors.append)
    assert errors == [f"{gt}: a .json file is read as OmniDocBench ground truth (--gt); give predictions as a "
                      "folder of .md files or a .jsonl file"]


# ------------------------------------------------------------------ the shared fixture: real outputs


def test_demo_fixture_agrees_with_omnidocbench(shared_fixtures: Path, tmp_path: Path) -> None:
    demo = shared_fixtures / "omnidocbench_demo"
    summary = score_corpus(demo / "end2end", demo / "OmniDocBench_demo.json", tmp_path, plots=False,
                           progress=False, on_error=None)
    assert summary["pages"] == 18 and summary["pages_with_gt"] == 18 and summary["errors"] == []
    samples = {s["id"]: s for s in map(json.loads, (tmp_path / "samples.jsonl").read_text(encoding="utf-8").splitlines())}
    reference = json.loads((demo / "reference_results" / "end2end_quick_match_table_result.json").read_text("utf-8"))
    assert len(reference) == 10
    for ref in reference:
        page = samples[ref["img_id"].rsplit(".", 1)[0]]
        ours = {(p["pred"], p["gt"]): p["teds"] for p in page["table_pairs"]}
        key = (ref["pred_idx"][0], ref["gt_idx"][0])
        assert key in ours, (ref["img_id"], key, ours)  # every table OmniDocBench pairs, we pair the same way
        assert ours[key] == pytest.approx(ref["metric"]["TEDS"], abs=1e-9), ref["img_id"]
    structure: dict[str, list[float]] = {}  # TEDS-S: each page's mean over its tables (pages pair one way here)
    for ref in reference:
        structure.setdefault(ref["img_id"].rsplit(".", 1)[0], []).append(ref["metric"]["TEDS_structure_only"])
    for pid, values in structure.items():
        assert samples[pid]["teds_s"] == pytest.approx(sum(values) / len(values), abs=1e-9), pid
    categories = {c: sorted(i for i, s in samples.items() if any(f["category"] == c for f in s["findings"]))
                  for c in ("missing_table", "invented_table", "output_wrapper")}
    assert categories["missing_table"] == []
    assert categories["invented_table"] == ["jiaocaineedrop_jiaocai_needrop_en_3361"]  # a figure read as a table
    assert len(categories["output_wrapper"]) == 9
    chapter9 = [f["message"] for f in samples["jiaocaineedrop_Chapter9.pdf_46"]["findings"] if f["category"] == "missing_rows"]
    assert chapter9 == ["table 1 has 5 rows, the ground truth 6 (1 missing), before row 1"]  # the caption row


def test_rows_located_as_teds_compares_them() -> None:
    from rewards import score_page

    gt = ("<table><thead><tr><th colspan=\"2\">Money</th></tr></thead><tbody><tr><td>bill</td><td>n</td></tr>"
          "<tr><td>$5</td><td>5</td></tr></tbody></table>")
    pred = "<table><tr><td>bill</td><td>n</td></tr><tr><td>$5</td><td>5</td></tr></table>"
    found = score_page(pred, gt, table_normalization="omnidocbench").findings
    assert [(f.category, f.message, f.start, f.end) for f in found] == [
        ("missing_rows", "table 1 has 2 rows, the ground truth 3 (1 missing), before row 1", 7, 39)]
    # as written, the header's section tags make every row differ: the whole table is the span
    found = score_page(pred, gt).findings
    assert [(f.message, f.start, f.end) for f in found] == [("table 1 has 2 rows, the ground truth 3 (1 missing)", 0, len(pred))]
