"""The output folder: atomic per-page files, done markers, shard markers, and the final assembly.

Layout (the data contract, plus two bookkeeping folders):
  images/<id>.png           the page image
  records/<id>.json         the page's record; written last, it is the page's done-marker
  shards/<I>-of-<N>.json    a finished shard's page ids and errors
  config.json               what decides the bytes (a run with another config refuses this folder)
  train.jsonl, validation.jsonl, manifest.json, README.md, contact_sheet.png   written by `assemble`

Every file is written to a temporary name and renamed into place, so a killed run leaves either a whole
file or none; a resumed run skips every page whose record exists and rewrites nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from data_prep.config import ConfigError, Shard

RECORD_KEYS = ("id", "image", "markdown", "source", "page", "labelled", "label_kind", "augment", "stats")


class ConfigMismatch(ConfigError):
    """The output folder holds a run of another configuration."""


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=False)


class OutputDir:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.images = self.root / "images"
        self.records = self.root / "records"
        self.shards = self.root / "shards"

    def prepare(self, content_key: dict) -> None:
        """Create the folder, or check that it holds a run of the same configuration."""
        for d in (self.root, self.images, self.records, self.shards):
            d.mkdir(parents=True, exist_ok=True)
        path = self.root / "config.json"
        if path.exists():
            previous = json.loads(path.read_text())
            if previous != content_key:
                diff = sorted(k for k in set(previous) | set(content_key) if previous.get(k) != content_key.get(k))
                raise ConfigMismatch(f"{self.root} holds a run with a different configuration ({', '.join(diff)} "
                                     f"differ); resume with the same options or use a new folder")
        else:
            atomic_write(path, (json.dumps(content_key, indent=2, sort_keys=True) + "\n").encode())

    def image_rel(self, page_id: str) -> str:
        return f"images/{page_id}.png"

    def is_done(self, page_id: str) -> bool:
        return (self.records / f"{page_id}.json").exists()

    def write_page(self, record: dict, png: bytes) -> None:
        """Image first, record last: a record on disk means the page is complete."""
        assert tuple(record) == RECORD_KEYS, f"record keys {tuple(record)} break the data contract"
        atomic_write(self.root / record["image"], png)
        atomic_write(self.records / f"{record['id']}.json", (dumps(record) + "\n").encode())

    def read_record(self, page_id: str) -> dict:
        return json.loads((self.records / f"{page_id}.json").read_text())

    def write_shard_marker(self, shard: Shard, page_ids: list[str], errors: list[str]) -> None:
        marker = {"shard": str(shard), "pages": page_ids, "errors": errors}
        atomic_write(self.shards / f"{shard.index}-of-{shard.count}.json", (dumps(marker) + "\n").encode())

    def finished_shards(self, count: int) -> list[dict] | None:
        """All N markers of an N-way split, or None while some shard has not finished."""
        markers = []
        for i in range(count):
            path = self.shards / f"{i}-of-{count}.json"
            if not path.exists():
                return None
            markers.append(json.loads(path.read_text()))
        return markers

    def remove_stale_temporaries(self) -> int:
        """Temporary files of killed runs (call only when no run is writing into this folder)."""
        n = 0
        for d in (self.root, self.images, self.records, self.shards):
            for p in d.glob(".*.tmp"):
                p.unlink(missing_ok=True)
                n += 1
        return n


def split_of(doc_keys: Iterable[str], seed: int, val_fraction: float) -> set[str]:
    """The documents that go to validation: a hash of (seed, document), so pages of one document never
    straddle the split and the split does not depend on order, workers or shards. With val_fraction > 0
    and at least two documents, at least one document is held out."""
    keys = sorted(set(doc_keys))
    score = {k: int(hashlib.sha256(f"split:{seed}:{k}".encode()).hexdigest()[:12], 16) / 16 ** 12 for k in keys}
    held = {k for k in keys if score[k] < val_fraction}
    if not held and val_fraction > 0 and len(keys) >= 2:
        held = {min(keys, key=lambda k: score[k])}
    if len(held) == len(keys) and len(keys) >= 2:  # keep at least one training document
        held.discard(max(held, key=lambda k: score[k]))
    return held


def doc_key(record: dict) -> str:
    return record["source"].rpartition("#")[0]


def assemble(out: OutputDir, page_ids: list[str], seed: int, val_fraction: float) -> dict:
    """Write train.jsonl and validation.jsonl (records in `page_ids` order) and return the counts."""
    seen: set[str] = set()
    records = []
    for pid in page_ids:
        if pid not in seen:  # the same file given twice yields the same ids
            seen.add(pid)
            records.append(out.read_record(pid))
    held = split_of((doc_key(r) for r in records), seed, val_fraction)
    splits: dict[str, list[dict]] = {"train": [], "validation": []}
    for r in records:
        splits["validation" if doc_key(r) in held else "train"].append(r)
    for name, rows in splits.items():
        atomic_write(out.root / f"{name}.jsonl", "".join(dumps(r) + "\n" for r in rows).encode())
    return {name: count_records(rows) for name, rows in splits.items()}


def count_records(rows: list[dict]) -> dict:
    return {
        "pages": len(rows),
        "documents": len({doc_key(r) for r in rows}),
        "labelled": sum(1 for r in rows if r["labelled"]),
        "unlabelled": sum(1 for r in rows if not r["labelled"]),
        "augmented": sum(1 for r in rows if r["augment"] is not None),
        **{k: sum(r["stats"][k] for r in rows) for k in ("tables", "merged_cells", "formulas", "chars")},
        # pages whose label has blocks left out (`prep pdfs`: formulas), and which blocks: kept out of SFT
        "partial": sum(1 for r in rows if r["label_kind"] == "silver_partial"),
        "left_out": _sum_counts(r["stats"].get("left_out") or {} for r in rows),
    }


def _sum_counts(dicts: Iterable[dict]) -> dict:
    total: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            total[k] = total.get(k, 0) + v
    return dict(sorted(total.items()))
