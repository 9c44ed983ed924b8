"""The demo's silver labels: the systematic extractor error lands on exactly the named tables."""
from __future__ import annotations

import json

from PIL import Image

import rewards
from firered_ocr.demo_labels import ragged_first_row, write_silver_copy
from firered_ocr.training.data import DataConfig, load_split


def _table(rows: int) -> str:
    return "<table>" + "".join(f"<tr><td>{r}</td><td>{r + 1}</td></tr>" for r in range(rows)) + "</table>"


def test_the_error_is_a_ragged_first_row_the_scorer_flags():
    exact = _table(4)
    silver = ragged_first_row(exact)
    assert silver.startswith("<table><tr><td>0</td><td>1</td><td></td></tr><tr>")
    assert rewards.table_validity(exact) == 1.0 and rewards.table_validity(silver) < 1.0
    assert [f.category for f in rewards.find_hallucinations(silver)] == ["ragged_table"]


def test_silver_copy_changes_train_tables_of_the_named_size_only(tmp_path):
    src = tmp_path / "data"
    (src / "images").mkdir(parents=True)
    for split, sizes in (("train", [2, 4, 3, 4]), ("validation", [4, 2])):
        recs = []
        for i, rows in enumerate(sizes):
            page = f"{split}-{i}"
            Image.new("RGB", (64, 64), "white").save(src / "images" / f"{page}.png")
            recs.append({"id": page, "image": f"images/{page}.png", "markdown": _table(rows), "source": "t",
                         "page": 0, "labelled": True, "label_kind": "exact", "augment": None, "stats": {}})
        (src / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    out, changed = write_silver_copy(src, tmp_path / "silver", rows=4)
    assert changed == 2
    train = [json.loads(l) for l in (out / "train.jsonl").read_text().splitlines()]
    assert [r["markdown"] == ragged_first_row(_table(n)) for r, n in zip(train, [2, 4, 3, 4])] == [
        False, True, False, True]
    assert [r["label_kind"] for r in train] == ["exact", "silver", "exact", "silver"]
    val = [json.loads(l) for l in (out / "validation.jsonl").read_text().splitlines()]
    assert [r["markdown"] for r in val] == [_table(4), _table(2)]  # held-out labels stay exact
    pages = load_split(DataConfig(path=str(out)), "train")  # images resolve from the copy
    assert pages[1]["image"].size == (64, 64) and pages[1]["markdown"] == train[1]["markdown"]
