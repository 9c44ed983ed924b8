"""The end of a run: assemble the dataset once every shard of the split has finished.

An unsharded run assembles at once. A shard of an N-way split writes its marker; whichever shard finds all
N markers present (in the same folder) assembles, and the others say what is missing. Shards written to
different folders are merged by copying the folders into one (their files never collide) and running the
same command there without `--shard`: every page is found done and only the assembly runs.
"""
from __future__ import annotations

import json
import sys

from data_prep.config import Shard
from data_prep.dataset.contact_sheet import write_contact_sheet
from data_prep.dataset.card import write_card
from data_prep.dataset.writer import OutputDir, assemble, atomic_write


def finish_run(out: OutputDir, shard: Shard, page_ids: list[str] | None, seed: int, val_fraction: float,
               content_key: dict, errors: list[str]) -> bool:
    """Assemble if the whole run is done; True if it did. `page_ids`: the whole run's pages in order, or
    None to take them from the shard markers (sorted), as `prep pdfs` does."""
    markers = out.finished_shards(shard.count)
    if markers is None:
        done = sum(1 for p in out.records.glob("*.json"))
        print(f"shard {shard} finished; the dataset is assembled when all {shard.count} shards are done "
              f"in {out.root} ({done} pages there now), or by rerunning without --shard", file=sys.stderr)
        return False
    all_errors = errors if shard.count == 1 else [e for m in markers for e in m["errors"]]
    if page_ids is None:
        page_ids = sorted({p for m in markers for p in m["pages"]})
    present = [p for p in page_ids if out.is_done(p)]
    missing = len(page_ids) - len(present)
    out.remove_stale_temporaries()
    counts = assemble(out, present, seed, val_fraction)
    manifest = {"config": content_key, "counts": counts, "pages_missing": missing, "errors": all_errors}
    atomic_write(out.root / "manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    write_card(out.root, manifest)
    write_contact_sheet(out.root)
    print(f"wrote {out.root}: {counts['train']['pages']} train + {counts['validation']['pages']} validation pages"
          + (f", {missing} pages missing" if missing else "") + (f", {len(all_errors)} errors" if all_errors else ""),
          file=sys.stderr)
    return True
