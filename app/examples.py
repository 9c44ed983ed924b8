"""Example pages for the demo: a few synthetic pages made by data_prep at first start, with their exact
ground truth, cached in the app's data dir (`<data_dir>/examples-n<N>/`) so later starts reuse them.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

from app.config import AppConfig


@dataclasses.dataclass(frozen=True)
class Example:
    image: Path
    markdown: str  # the page's exact ground truth
    source: str


def _read(root: Path) -> list[Example]:
    examples = []
    for split in ("train.jsonl", "validation.jsonl"):
        path = root / split
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("markdown") and (root / rec["image"]).is_file():
                examples.append(Example(root / rec["image"], rec["markdown"], rec.get("source", rec["id"])))
    # Pages with both a table and a formula first: they show what the app is for.
    def rich(e: Example) -> tuple[bool, bool]:
        return "<table" not in e.markdown, "$" not in e.markdown

    return sorted(examples, key=rich)


def ensure_examples(cfg: AppConfig, log=print) -> list[Example]:
    """The cached examples, built with data_prep's synthetic pipeline when absent. A failure to build
    them is reported and leaves the app without examples; it never stops the app."""
    if cfg.n_examples == 0:
        return []
    root = cfg.resolved_data_dir() / f"examples-n{cfg.n_examples}"
    examples = _read(root) if (root / "manifest.json").is_file() else []
    if examples:
        return examples[:cfg.n_examples]
    try:
        from data_prep.config import DocumentProfile, SynthRunConfig
        from data_prep.synth.pipeline import run_synth

        log(f"building {cfg.n_examples} example page(s) in {root} (first start only)")
        # A half-built cache (an interrupted start, or one from an older data_prep whose configuration
        # no longer matches) is the app's own: start it again rather than resume it.
        shutil.rmtree(root, ignore_errors=True)
        status = run_synth(SynthRunConfig(n_pages=cfg.n_examples, out=root, profile=DocumentProfile(), seed=0,
                                          workers=1, val_fraction=0.0, progress=False))
        if status != 0:
            log(f"warning: data_prep reported errors while building examples in {root}")
    except Exception as exc:  # noqa: BLE001 - examples are a convenience; the app serves without them
        print(f"warning: could not build example pages ({type(exc).__name__}: {exc}); "
              f"the app starts without examples", file=sys.stderr)
        return []
    return _read(root)[:cfg.n_examples]
