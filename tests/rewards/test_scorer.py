"""The scorer end to end: folders and JSONL, with and without ground truth, bad inputs, report files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from firered_ocr.cli import main as firered_ocr
from rewards.components import NAMES as COMPONENTS
from rewards.scorer.corpus import score_corpus

TABLE = "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td></tr></table>"
GOOD = f"# Page\n\nSome text with $x^2$.\n\n{TABLE}\n"
PAGES_GT = {"p1": GOOD, "sub/p2": GOOD, "p3": GOOD, "p4": GOOD, "only_gt": GOOD}
PAGES_PRED = {
    "p1": GOOD,  # exact
    "sub/p2": GOOD.replace("</table>", "<tr><td>3</td><td>4</td></tr></table>"),  # invented row
    "p3": GOOD.replace("$x^2$", "$x^{2$"),  # invalid formula
    "p4": GOOD + "\n" + "again and again " * 40,  # loop running to the end: loop + truncation
    "only_pred": "Just text.",
}


def write_folder(root: Path, pages: dict[str, str]) -> Path:
    for page_id, text in pages.items():
        path = root / f"{page_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture()
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    pred = write_folder(tmp_path / "pred", PAGES_PRED)
    (pred / "broken.md").write_bytes(b"caf\xe9 latin-1")
    return pred, write_folder(tmp_path / "gt", PAGES_GT)


def test_folders_with_ground_truth(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    errors: list[str] = []
    out = tmp_path / "out"
    summary = score_corpus(*corpus, out, progress=False, on_error=errors.append)
    assert len(errors) == 1 and "broken.md: not UTF-8" in errors[0]
    assert summary["errors"] == errors
    assert summary["pages"] == 5 and summary["pages_with_gt"] == 4
    assert summary["missing_predictions"] == ["only_gt"] and summary["unmatched_predictions"] == ["only_pred"]
    rates = summary["hallucination_rates"]
    assert rates["invented_rows"] == 1 / 4  # of the 4 pages with ground truth
    assert rates["invalid_formula"] == 1 / 5 and rates["repetition_loop"] == 1 / 5 and rates["truncation"] == 1 / 5
    assert rates["unclosed_table"] == 0.0 and rates["missing_table"] == 0.0
    assert summary["formulas"] == 4 and summary["invalid_formulas"] == 1 and summary["formula_validity"] == 0.75
    assert summary["tables"] == 4 and summary["tables_gt"] == 4
    assert summary["judged"]["teds"] == 4 and summary["judged"]["table_validity"] == 5
    assert 0.9 < summary["teds"] < 1.0 and summary["text_ned"] > 0.0

    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [s["id"] for s in samples] == ["only_pred", "p1", "p3", "p4", "sub/p2"]
    by_id = {s["id"]: s for s in samples}
    assert by_id["p1"]["total"] == 1.0 and by_id["p1"]["findings"] == []
    (f,) = by_id["sub/p2"]["findings"]
    assert f["category"] == "invented_rows" and f["line"] == 5 and f["column"] == len(TABLE) - len("</table>") + 1
    assert f["excerpt"] == "<tr><td>3</td><td>4</td></tr>"
    assert by_id["only_pred"]["has_gt"] is False and by_id["only_pred"]["teds"] is None

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| invented_rows | 25.0 % | 1 |" in report and "## Worst pages" in report and "only_gt" in report
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(list(out.glob("hist_*.png"))) == len(COMPONENTS) + 1  # and total
    assert (out / "hist_teds.png").read_bytes()[:4] == b"\x89PNG"


def test_without_ground_truth_and_the_cli(corpus: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    pred, _ = corpus
    out = tmp_path / "validity"
    code = firered_ocr(["score", "--pred", str(pred), "--out", str(out), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1  # the undecodable file
    assert f"error: {pred / 'broken.md'}: not UTF-8" in captured.err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["pages"] == 5 and summary["pages_with_gt"] == 0 and summary["teds"] is None
    assert summary["hallucination_rates"]["invented_rows"] is None
    assert summary["hallucination_rates"]["invalid_formula"] == 1 / 5
    assert "hist_teds.png" not in {p.name for p in out.iterdir()} and (out / "hist_total.png").exists()
    (pred / "broken.md").unlink()
    assert firered_ocr(["score", "--pred", str(pred), "--out", str(out), "--no-progress", "--no-plots"]) == 0
    assert firered_ocr(["score", "--pred", str(pred), "--out", str(out), "--weight", "tedz=1"]) == 2


def test_jsonl_inputs_and_their_errors(tmp_path: Path) -> None:
    pred = tmp_path / "pred.jsonl"
    lines = [
        json.dumps({"id": "a", "prediction": GOOD}),
        "{not json",
        json.dumps({"id": "b", "markdown": GOOD[:40], "finish_reason": "length"}),
        json.dumps({"prediction": "no id"}),
        json.dumps({"id": 7, "prediction": GOOD}),
        json.dumps({"id": "a", "prediction": "duplicate"}),
        "",
        json.dumps(["not", "an", "object"]),
    ]
    pred.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gt = tmp_path / "gt.jsonl"
    gt.write_text("\n".join(json.dumps(r) for r in [{"id": "a", "markdown": GOOD}, {"id": "b", "markdown": GOOD},
                                                   {"id": "7", "markdown": None}]) + "\n", encoding="utf-8")
    errors: list[str] = []
    summary = score_corpus(pred, gt, tmp_path / "out", progress=False, plots=False, on_error=errors.append)
    assert [e.split(": ", 1)[0] for e in errors] == [f"{pred}:2", f"{pred}:4", f"{pred}:6", f"{pred}:8"]
    assert "malformed JSON" in errors[0] and "'id'" in errors[1] and "duplicate id 'a'" in errors[2]
    assert summary["pages"] == 3 and summary["pages_with_gt"] == 2 and summary["unlabelled_gt"] == 1
    samples = {s["id"]: s for s in map(json.loads, (tmp_path / "out" / "samples.jsonl").read_text().splitlines())}
    assert samples["b"]["hit_max_tokens"] is True and samples["b"]["no_truncation"] == 0.0
    assert samples["7"]["has_gt"] is False and samples["a"]["total"] == 1.0


def test_folder_predictions_against_jsonl_ground_truth(tmp_path: Path) -> None:
    pred = write_folder(tmp_path / "pred", {"x/1": GOOD})
    gt = tmp_path / "gt.jsonl"
    gt.write_text(json.dumps({"id": "x/1", "markdown": GOOD}) + "\n", encoding="utf-8")
    summary = score_corpus(pred, gt, tmp_path / "out", progress=False, plots=False, on_error=None)
    assert summary["pages_with_gt"] == 1 and summary["means"]["total"] == 1.0 and summary["errors"] == []


def test_missing_inputs_are_reported(tmp_path: Path) -> None:
    errors: list[str] = []
    summary = score_corpus(tmp_path / "nope", None, tmp_path / "out", progress=False, on_error=errors.append)
    assert errors == [f"{tmp_path / 'nope'}: no such file or folder"] and summary["pages"] == 0
    assert (tmp_path / "out" / "report.html").exists()
