"""Silver training labels for the CPU demo: exact labels with one systematic extractor error.

Real corpora are labelled by extractors (PDF text layers, `find_tables`, other OCR systems), and their
mistakes are systematic: the same kind of table gets the same wrong structure every time. Supervised
training learns such an error as faithfully as the rest of the labels, and more training learns it
better; a label-free structural reward (table validity) sees it in every completion. The demo simulates
one such extractor: on tables with `rows` rows it appends an empty cell to the first row (a ragged row,
the commonest table hallucination). Validation labels stay exact, so held-out scores measure the truth.
"""
from __future__ import annotations

import json
from pathlib import Path


def ragged_first_row(markdown: str) -> str:
    """The extractor's error: an extra empty cell closing the first row."""
    return markdown.replace("</tr>", "<td></td></tr>", 1)


def write_silver_copy(data_dir: Path, out_dir: Path, rows: int) -> tuple[Path, int]:
    """A dataset folder whose train labels carry the error on every `rows`-row table; validation unchanged.

    Images are referenced by absolute path (nothing is copied). Returns (folder, pages changed).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = 0
    for split in ("train", "validation"):
        lines = []
        for line in (data_dir / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            rec["image"] = str((data_dir / rec["image"]).resolve())
            md = rec.get("markdown")
            if split == "train" and md and md.count("<tr>") == rows:
                rec["markdown"] = ragged_first_row(md)
                rec["label_kind"] = "silver"
                changed += 1
            lines.append(json.dumps(rec, ensure_ascii=False))
        (out_dir / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_dir, changed
