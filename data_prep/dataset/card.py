"""DIR/README.md: what is in a prepared dataset, how it was made, and how to load it."""
from __future__ import annotations

import json
from pathlib import Path

from data_prep.dataset.writer import atomic_write

_ROWS = (("pages", "pages"), ("documents", "documents"), ("labelled", "labelled pages"),
         ("unlabelled", "unlabelled pages (no text layer)"), ("tables", "tables"),
         ("merged_cells", "merged cells (colspan/rowspan > 1)"), ("formulas", "formulas (inline + display)"),
         ("chars", "ground-truth characters"), ("augmented", "augmented pages"))


def render_card(manifest: dict) -> str:
    cfg, counts = manifest["config"], manifest["counts"]
    train, val = counts["train"], counts["validation"]
    command = cfg.get("command", "?")
    kind = {"synth": "synthetic pages with exact ground truth",
            "pdfs": "pages of a PDF corpus with silver labels from the text layer"}.get(command, command)
    lines = [f"# Dataset card: {kind}", "",
             f"Made by `firered-ocr prep {command}`. Ground truth is Markdown in the project's output convention "
             "(HTML tables with colspan/rowspan, `$…$` and `$$…$$` math).", "",
             "| | train | validation | total |", "|---|---:|---:|---:|"]
    for key, label in _ROWS:
        lines.append(f"| {label} | {train[key]:,} | {val[key]:,} | {train[key] + val[key]:,} |")
    lines.append("")
    if command == "synth":
        lines.append("Label kind: `exact` (the page was rendered from its ground truth; every page passes "
                     "`rewards.check_table` and `rewards.check_latex`).")
    else:
        lines.append("Label kind: `silver` (PyMuPDF text in reading order, `find_tables()` as HTML); pages with "
                     "no text layer are kept with `markdown: null`, `labelled: false`.")
    if manifest.get("pages_missing"):
        lines.append(f"\n{manifest['pages_missing']} planned pages are missing (failed or not yet made).")
    errors = manifest.get("errors") or []
    if errors:
        lines += ["", f"## Errors ({len(errors)})", ""] + [f"- {e}" for e in errors[:50]]
        if len(errors) > 50:
            lines.append(f"- … {len(errors) - 50} more in manifest.json")
    lines += ["", "## Files", "",
              "- `train.jsonl`, `validation.jsonl`: one page per line: `id`, `image` (relative path), `markdown`, "
              "`source`, `page`, `labelled`, `label_kind`, `augment`, `stats`.",
              "- `images/<id>.png`: page images; `contact_sheet.png`: pages beside their rendered ground truth.",
              "- `manifest.json`: the counts and configuration below; `records/`, `shards/`: resume bookkeeping.",
              "", "## Load", "", "```python", "import datasets",
              'ds = datasets.load_dataset("json", data_files={"train": "DIR/train.jsonl", '
              '"validation": "DIR/validation.jsonl"})', "```", "",
              "Image paths are relative to this folder.", "",
              "## Configuration", "", "```json", json.dumps(cfg, indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)


def write_card(root: Path, manifest: dict) -> None:
    atomic_write(Path(root) / "README.md", render_card(manifest).encode())
