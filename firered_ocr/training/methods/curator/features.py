"""Page features for the curator, from what data_prep records for every page (no model, no GPU).

Per page: its source kind (synth / pdf / other, one-hot), whether its label is a silver (extracted) label,
whether it was augmented, and log(1 + x) of its tables, table cells, merged cells, formulas, characters of
ground truth, image width and height. The counts come from the record's `stats` (written by `firered-ocr
prep`) where present; table cells, and any count a record lacks, are counted in the ground-truth Markdown.
The continuous columns are standardised over the corpus (zero mean, unit variance; a constant column
becomes 0) so that one learning rate suits every column (our choice).
"""
from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import torch

FEATURE_NAMES = ("source_synth", "source_pdf", "source_other", "silver_label", "augmented", "tables", "cells",
                 "merged_cells", "formulas", "chars", "width", "height")
BINARY = 5  # the first five columns are 0/1 and are not standardised

_CELL = re.compile(r"<t[dh][\s>]", re.IGNORECASE)
_TABLE = re.compile(r"<table[\s>]", re.IGNORECASE)
_MERGED = re.compile(r"(?:col|row)span\s*=\s*[\"']?([0-9]+)", re.IGNORECASE)
_FORMULA = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)


def read_page_records(data_path: str | Path, split: str) -> dict[str, dict]:
    """The split's raw records by page id ({} when the dataset folder or split file is absent)."""
    path = Path(data_path).expanduser() / f"{split}.jsonl"
    if not str(data_path) or not path.is_file():
        return {}
    records = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            records[str(rec.get("id"))] = rec
    return records


def _image_size(image) -> tuple[int, int]:
    """(width, height) of a datasets Image value (undecoded dict or PIL image), reading only the header."""
    from PIL import Image

    if hasattr(image, "size"):
        return image.size
    if image.get("bytes"):
        with Image.open(io.BytesIO(image["bytes"])) as im:
            return im.size
    with Image.open(image["path"]) as im:
        return im.size


def page_feature_row(record: dict, markdown: str | None, size: tuple[int, int]) -> list[float]:
    """The raw (unstandardised) feature values of one page, in FEATURE_NAMES order."""
    md = markdown or ""
    stats = record.get("stats") or {}
    kind = str(record.get("source", "")).partition(":")[0]
    merged = stats.get("merged_cells")
    if merged is None:
        merged = sum(1 for m in _MERGED.finditer(md) if int(m.group(1)) > 1)
    counts = (stats.get("tables", len(_TABLE.findall(md))), len(_CELL.findall(md)), merged,
              stats.get("formulas", len(_FORMULA.findall(md))), stats.get("chars", len(md)), size[0], size[1])
    return [float(kind == "synth"), float(kind == "pdf"), float(kind not in ("synth", "pdf")),
            float(record.get("label_kind") == "silver"), float(record.get("augment") is not None),
            *(math.log1p(max(0.0, float(c))) for c in counts)]


def standardise(table: torch.Tensor) -> torch.Tensor:
    """Continuous columns to zero mean and unit variance over the pages (constant columns to 0)."""
    out = table.clone()
    cont = out[:, BINARY:]
    std = cont.std(dim=0, unbiased=False)
    out[:, BINARY:] = torch.where(std > 0, (cont - cont.mean(dim=0)) / std.clamp_min(1e-12), torch.zeros_like(cont))
    return out


def page_features(dataset, data_path: str | Path = "", split: str = "train") -> torch.Tensor:
    """Raw (pages, len(FEATURE_NAMES)) float64 table for a training dataset with `id`, `image`, and
    `ground_truth` (or `markdown`) columns, joined by id with the split's records in `data_path` where they
    exist. The curator standardises it (`standardise`); the raw values give the logged feature shares."""
    import datasets

    records = read_page_records(data_path, split) if data_path else {}
    gt_column = "ground_truth" if "ground_truth" in dataset.column_names else "markdown"
    images = dataset.cast_column("image", datasets.Image(decode=False))["image"]
    rows = [page_feature_row(records.get(str(pid), {}), md, _image_size(img))
            for pid, md, img in zip(dataset["id"], dataset[gt_column], images)]
    return torch.tensor(rows, dtype=torch.float64)


def load_embedding(path: str | Path, page_ids: list[str]) -> torch.Tensor:
    """(pages, d) float64 rows of a frozen embedding file for `page_ids`, in that order.

    The file is an .npz with `ids` (page ids, strings) and `vectors` (len(ids) x d). Every training page must
    have a row: a missing one is an error naming the file and the page, not a silent zero."""
    import numpy as np

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: curator.embedding file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            ids, vectors = [str(i) for i in data["ids"]], np.asarray(data["vectors"], dtype=np.float64)
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(f"{path}: not an .npz with 'ids' and 'vectors' arrays ({exc})") from None
    if vectors.ndim != 2 or vectors.shape[0] != len(ids):
        raise ValueError(f"{path}: 'vectors' must have one row per id ({len(ids)} ids, shape {vectors.shape})")
    row = {pid: i for i, pid in enumerate(ids)}
    missing = [pid for pid in page_ids if pid not in row]
    if missing:
        raise ValueError(f"{path}: no embedding for page {missing[0]!r} ({len(missing)} training pages missing)")
    return torch.from_numpy(vectors[[row[pid] for pid in page_ids]])
