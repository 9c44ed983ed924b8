"""The training data reader: columns, filtering, caps, resizing and the errors that name the file."""
from __future__ import annotations

import json
import shutil

import pytest

from firered_ocr.prompts import OCR_INSTRUCTION
from firered_ocr.training.data import DataConfig, DataError, load_chat_split, load_split, to_chat_rows


def test_load_split_columns_and_labelled_filter(tiny_dataset_dir):
    cfg = DataConfig(path=str(tiny_dataset_dir))
    ds = load_split(cfg, "train")
    assert ds.column_names == ["id", "image", "markdown"]
    assert len(ds) == 16  # the 2 unlabelled pages are dropped by default
    assert ds[0]["image"].size == (96, 64)
    assert ds[0]["markdown"].startswith("<table><tr><td>")
    everything = load_split(cfg, "train", labelled_only=False)
    assert len(everything) == 18 and everything[17]["markdown"] is None


def test_caps_and_resize(tiny_dataset_dir):
    cfg = DataConfig(path=str(tiny_dataset_dir), max_pages=5, max_eval_pages=3, image_max_side=48)
    assert len(load_split(cfg, "train")) == 5
    val = load_split(cfg, "validation")
    assert len(val) == 3 and val[0]["image"].size == (48, 32)


def test_chat_rows(tiny_dataset_dir):
    rows = load_chat_split(DataConfig(path=str(tiny_dataset_dir)), "validation")
    assert set(rows.column_names) == {"id", "image", "ground_truth", "prompt"}
    prompt = rows[0]["prompt"]
    assert prompt[0]["role"] == "user" and prompt[0]["content"][0]["type"] == "image"
    assert prompt[0]["content"][1]["text"] == OCR_INSTRUCTION
    assert rows[0]["ground_truth"].startswith("<table>")
    custom = to_chat_rows(load_split(DataConfig(path=str(tiny_dataset_dir)), "validation"), "read it")
    assert custom[0]["prompt"][0]["content"][1]["text"] == "read it"


def test_errors_name_the_file(tmp_path, tiny_dataset_dir):
    with pytest.raises(DataError, match="dataset folder not found"):
        load_split(DataConfig(path=str(tmp_path / "nope")), "train")
    with pytest.raises(DataError, match=r"split 'test' not found.*splits present: train, validation"):
        load_split(DataConfig(path=str(tiny_dataset_dir)), "test")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dataset_dir, broken)
    (broken / "images" / "train-0003.png").unlink()
    with pytest.raises(DataError, match=r"train-0003\.png: image of page 'train-0003' \(train.jsonl line 4\)"):
        load_split(DataConfig(path=str(broken)), "train")
    lines = (broken / "validation.jsonl").read_text().splitlines()
    lines[1] = "{not json"
    (broken / "validation.jsonl").write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"validation.jsonl:2: not valid JSON"):
        load_split(DataConfig(path=str(broken)), "validation")
    rec = json.loads(lines[0])
    del rec["image"]
    (broken / "validation.jsonl").write_text(json.dumps(rec) + "\n")
    with pytest.raises(DataError, match=r"validation.jsonl:1: missing key\(s\) image"):
        load_split(DataConfig(path=str(broken)), "validation")
