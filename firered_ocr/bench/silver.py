"""Silver labels for the method benchmark: exact labels with four systematic extractor errors.

An extractor's mistakes repeat on every page of a kind, so SFT learns them as faithfully as the truth. Each
rule below fires on one kind of training page (validation labels stay exact, so held-out scores measure
the truth), and each is an error one of the structural rewards can see without a label:
- ragged row: on 3-row tables the first row gets an extra empty cell (table validity);
- dropped row: on 4-row tables the last row is lost (TEDS against the truth; invented/missing rows);
- unbalanced brace: a `\\frac` formula loses its last closing brace (formula validity);
- flattened merge: a `colspan` cell is written as a plain cell, leaving its row one cell short (validity).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

_SPAN = re.compile(r' colspan="\d+"')


def silver_label(markdown: str) -> tuple[str, list[str]]:
    """(label with the extractor's errors, names of the errors applied)."""
    applied = []
    table, sep, rest = markdown.partition("</table>")
    rows = table.count("<tr>")
    if _SPAN.search(table):
        table = _SPAN.sub("", table, count=1)
        applied.append("flattened_merge")
    if rows == 3:
        table = table.replace("</tr>", "<td></td></tr>", 1)
        applied.append("ragged_row")
    elif rows == 4:
        table = table[: table.rindex("<tr>")]
        applied.append("dropped_row")
    if "\\frac" in rest:
        end = rest.rindex("}")
        rest = rest[:end] + rest[end + 1:]
        applied.append("unbalanced_brace")
    return table + sep + rest, applied


def write_silver_copy(data_dir: Path, out_dir: Path) -> dict[str, int]:
    """A dataset folder whose train labels carry the errors; validation unchanged. Images are referenced
    by absolute path (nothing is copied). Returns how many training pages got each error."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for split in ("train", "validation"):
        lines = []
        for line in (data_dir / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            rec["image"] = str((data_dir / rec["image"]).resolve())
            if split == "train" and rec.get("markdown"):
                rec["markdown"], applied = silver_label(rec["markdown"])
                if applied:
                    rec["label_kind"] = "silver"
                for name in applied:
                    counts[name] = counts.get(name, 0) + 1
            lines.append(json.dumps(rec, ensure_ascii=False))
        (out_dir / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts
