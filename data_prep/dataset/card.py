"""DIR/README.md: what is in a prepared dataset, how it was made, and how to load it."""
from __future__ import annotations

import json
from pathlib import Path

from data_prep.dataset.writer import atomic_write

_ROWS = (("pages", "pages"), ("documents", "documents"), ("labelled", "labelled pages"),
         ("partial", "of which partly labelled (blocks left out): GRPO only"),
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
        if key in train:  # a manifest written before the row existed lacks it
            lines.append(f"| {label} | {train[key]:,} | {val[key]:,} | {train[key] + val[key]:,} |")
    lines.append("")
    if command == "synth":
        lines.append("Label kind: `exact` (the page was rendered from its ground truth; every page passes "
                     "`rewards.check_table` and `rewards.check_latex`).")
    else:
        lines += _pdf_label_lines(train, val)
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


def _pdf_label_lines(train: dict, val: dict) -> list[str]:
    """What each label kind of a `prep pdfs` dataset is good for, with its page counts."""
    total = {k: train.get(k, 0) + val.get(k, 0) for k in ("labelled", "partial", "unlabelled")}
    left_out: dict[str, int] = {}
    for counts in (train.get("left_out") or {}, val.get("left_out") or {}):
        for k, v in counts.items():
            left_out[k] = left_out.get(k, 0) + v
    what = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in sorted(left_out.items())) or "none"
    return [
        "Label kinds (`label_kind` in each record; silver labels come from the PDF's text layer: text in reading "
        "order, tables by PyMuPDF's `find_tables(union=True, refine=True)` as HTML):", "",
        f"- `silver`: {total['labelled'] - total['partial']:,} pages labelled whole: used by SFT, validation and "
        "GRPO's ground-truth rewards.",
        f"- `silver_partial`: {total['partial']:,} pages whose formulas (or tables holding math) could not be "
        "labelled from the text layer and were left out of the label (`stats.left_out`; blocks left out: "
        f"{what}; the formulas row above counts these). They stay in `train.jsonl`, but `firered-ocr sft` "
        "leaves them out (the label would teach the model to skip formulas) and `firered-ocr grpo` uses them "
        "without ground truth, for its label-free rewards.",
        f"- `null`: {total['unlabelled']:,} pages with no text layer (scanned?), kept with `markdown: null`, "
        "`labelled: false`; GRPO uses them label-free only with `data.labelled_only: false`."]


def write_card(root: Path, manifest: dict) -> None:
    atomic_write(Path(root) / "README.md", render_card(manifest).encode())
