"""The folder follows the data contract: `datasets` loads it; card, manifest and contact sheet agree."""
from __future__ import annotations

import json

import datasets
from PIL import Image

from data_prep.dataset.writer import RECORD_KEYS, split_of


def test_datasets_loads_the_folder(synth_dir, jsonl):
    ds = datasets.load_dataset("json", data_files={"train": str(synth_dir / "train.jsonl"),
                                                   "validation": str(synth_dir / "validation.jsonl")})
    assert ds["train"].num_rows + ds["validation"].num_rows == 8
    assert ds["validation"].num_rows >= 1  # held-out documents exist even at this size
    assert tuple(ds["train"].column_names) == RECORD_KEYS
    row = ds["train"][0]
    assert row["labelled"] is True and row["label_kind"] == "exact" and row["augment"] is None
    assert row["source"].startswith("synth:") and row["source"].endswith(f"#p{row['page']}")
    assert (synth_dir / row["image"]).is_file() and not row["image"].startswith("/")
    with Image.open(synth_dir / row["image"]) as im:
        assert im.mode == "RGB" and im.width in (612, 595)  # letter or A4 at 72 dpi
    # pages of one document never straddle the split
    docs = {split: {r["source"].split("#")[0] for r in jsonl(synth_dir / f"{split}.jsonl")}
            for split in ("train", "validation")}
    assert not docs["train"] & docs["validation"]


def test_card_and_manifest_count_what_is_in_the_files(synth_dir, jsonl):
    manifest = json.loads((synth_dir / "manifest.json").read_text())
    rows = jsonl(synth_dir / "train.jsonl") + jsonl(synth_dir / "validation.jsonl")
    total = {k: manifest["counts"]["train"][k] + manifest["counts"]["validation"][k]
             for k in ("pages", "tables", "merged_cells", "formulas")}
    assert total["pages"] == len(rows) == 8
    for key in ("tables", "merged_cells", "formulas"):
        assert total[key] == sum(r["stats"][key] for r in rows)
    assert sum(r["markdown"].count("<table>") for r in rows) == total["tables"] > 0
    assert sum(r["markdown"].count("span=") for r in rows) == total["merged_cells"]
    card = (synth_dir / "README.md").read_text()
    assert f"| pages | {manifest['counts']['train']['pages']} | {manifest['counts']['validation']['pages']} | 8 |" in card
    assert "| tables |" in card and "load_dataset" in card
    assert manifest["config"]["seed"] == 3 and manifest["errors"] == []


def test_contact_sheet_shows_pages_beside_their_ground_truth(synth_dir):
    with Image.open(synth_dir / "contact_sheet.png") as sheet:
        assert sheet.width > 1000 and sheet.height > 600
        # the right half of the first tile (the rendered ground truth) is not blank
        tile = sheet.crop((sheet.width // 4, 40, sheet.width // 2 - 20, 600)).convert("L")
        assert tile.getextrema()[0] < 100


def test_split_is_by_document_and_keeps_both_sides():
    keys = [f"doc{i}" for i in range(200)]
    held = split_of(keys, seed=0, val_fraction=0.1)
    assert 8 <= len(held) <= 35
    assert split_of(list(reversed(keys)), seed=0, val_fraction=0.1) == held  # order does not matter
    assert len(split_of(["a", "b"], 0, 0.01)) == 1 and split_of(["a", "b"], 0, 0.0) == set()
    assert len(split_of(["a", "b"], 0, 0.99)) == 1  # one training document is always kept
