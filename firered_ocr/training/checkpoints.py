"""Which checkpoint a run resumes from: one rule for SFT and GRPO.

A checkpoint counts only once its save finished: the Trainer writes `trainer_state.json` last, so a run
killed mid-save leaves a `checkpoint-N` folder without it, which must not be resumed from (transformers'
`get_last_checkpoint` would pick it).
"""
from __future__ import annotations

import re
from pathlib import Path


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest `checkpoint-N` whose save finished."""
    root = Path(output_dir)
    if not root.is_dir():
        return None
    found = []
    for p in root.iterdir():
        m = re.fullmatch(r"checkpoint-(\d+)", p.name)
        if m and p.is_dir() and (p / "trainer_state.json").is_file():
            found.append((int(m.group(1)), p))
    return max(found)[1] if found else None


def resume_checkpoint(output_dir: str | Path, resume: str) -> str | None:
    """`auto`: the last complete checkpoint if any; `true`: the same, required; `false`/`never`: none;
    anything else: that checkpoint folder. Raises FileNotFoundError naming the folder otherwise."""
    value = str(resume).strip().lower()
    if value in ("false", "no", "0", "none", "never", ""):
        return None
    if value in ("auto", "true", "yes", "1"):
        last = latest_checkpoint(output_dir)
        if last is None and value != "auto":
            raise FileNotFoundError(f"{output_dir}: resume=true but there is no complete checkpoint-N folder "
                                    f"to resume from (no checkpoint-N folder with trainer_state.json)")
        return str(last) if last else None
    path = Path(resume)
    if not (path / "trainer_state.json").is_file():
        raise FileNotFoundError(f"{path}: not a training checkpoint (no trainer_state.json)")
    return str(path)
