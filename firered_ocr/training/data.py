"""Read a prepared dataset (the data contract written by `firered-ocr prep`) for SFT, GRPO and validation.

A prepared dataset is a folder with `train.jsonl` / `validation.jsonl` (one page per line, image paths
relative to the folder) and `images/`. `load_split` turns one split into a `datasets.Dataset` with the
columns `id`, `image` (a datasets `Image` feature: decoded to PIL on access, so a large corpus is never in
memory at once) and `markdown` (the ground truth, or None for an unlabelled page). `to_chat_rows` adds the
TRL-style columns both trainers consume: `prompt` (chat messages with the image placeholder) and
`ground_truth`.

Each page is used for what its label can be trusted for (the record's `label_kind`): `exact` and `silver`
labels are whole pages and serve SFT, validation and GRPO's ground-truth rewards; a `silver_partial` label
has blocks left out (formulas whose text layer is debris, see `stats.left_out`), so it would teach SFT to
skip them: `purpose="sft"` drops such pages and `purpose="grpo"` keeps them with no ground truth, for the
label-free rewards.

Every problem is checked before training starts and reported with the file and line it comes from: a
missing image found at step 5,000 of a GPU run is an expensive way to learn about a typo.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from firered_ocr.prompts import OCR_INSTRUCTION, build_messages

REQUIRED_KEYS = ("id", "image", "markdown")
PARTIAL_LABEL_KINDS = frozenset({"silver_partial"})  # a label with blocks left out: no SFT target
PURPOSES = ("sft", "grpo")


class DataError(ValueError):
    """A prepared dataset that cannot be used; the message names the file (and line) and the problem."""


@dataclasses.dataclass
class DataConfig:
    path: str = ""  # the prepared dataset folder (output of `firered-ocr prep`)
    train_split: str = "train"
    eval_split: str = "validation"
    max_pages: int | None = None  # cap on training pages (first N in file order); None = all
    max_eval_pages: int | None = None  # cap on validation pages; None = all
    # Downscale pages whose longest side exceeds this many pixels (None = keep; the processor still caps
    # the pixel count). olmOCR renders pages at 1288 px on the longest side for a 7B model.
    image_max_side: int | None = None
    labelled_only: bool = True  # SFT and GRPO-with-GT need the ground truth: drop unlabelled pages
    instruction: str = OCR_INSTRUCTION


def _split_file(root: Path, split: str) -> Path:
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found (expected the output of `firered-ocr prep`)")
    path = root / f"{split}.jsonl"
    if not path.is_file():
        present = sorted(p.stem for p in root.glob("*.jsonl"))
        raise DataError(f"{path}: split '{split}' not found in the dataset folder "
                        f"(splits present: {', '.join(present) or 'none'})")
    return path


def read_records(root: Path, split: str) -> list[dict]:
    """The split's page records, each checked: required keys, unique ids, image file present."""
    path = _split_file(root, split)
    records: list[dict] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(rec, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(rec).__name__}")
        missing = [k for k in REQUIRED_KEYS if k not in rec]
        if missing:
            raise DataError(f"{path}:{lineno}: missing key(s) {', '.join(missing)}")
        page_id = str(rec["id"])
        if page_id in seen:
            raise DataError(f"{path}:{lineno}: duplicate page id {page_id!r}")
        seen.add(page_id)
        if rec["markdown"] is not None and not isinstance(rec["markdown"], str):
            raise DataError(f"{path}:{lineno}: 'markdown' must be a string or null")
        image = root / str(rec["image"])
        if not image.is_file():
            raise DataError(f"{image}: image of page {page_id!r} ({path.name} line {lineno}) not found")
        records.append({"id": page_id, "image": str(image), "markdown": rec["markdown"],
                        "label_kind": rec.get("label_kind")})
    return records


def _shrink(example: dict, max_side: int) -> dict:
    from PIL import Image

    image = example["image"]
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        example["image"] = image.resize(size, Image.Resampling.LANCZOS)
    return example


def select_for(records: list[dict], purpose: str, labelled_only: bool) -> list[dict]:
    """The pages `purpose` can use: partial labels dropped for "sft", kept without ground truth for "grpo";
    then, with `labelled_only`, pages without any label (no text layer) dropped."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, got {purpose!r}")
    out = []
    for r in records:
        if r.get("label_kind") in PARTIAL_LABEL_KINDS:
            if purpose == "sft":
                continue
            r = {**r, "markdown": None, "label_free": True}
        if labelled_only and r["markdown"] is None and not r.get("label_free"):
            continue
        out.append(r)
    return out


def load_split(cfg: DataConfig, split: str, *, max_pages: int | None = None,
               labelled_only: bool | None = None, purpose: str = "sft"):
    """One split as a `datasets.Dataset` with columns id, image (PIL on access), markdown (str or None),
    the pages chosen by `select_for(purpose)`."""
    import datasets

    root = Path(cfg.path).expanduser()
    keep_labelled = cfg.labelled_only if labelled_only is None else labelled_only
    records = select_for(read_records(root, split), purpose, keep_labelled)
    limit = max_pages if max_pages is not None else (
        cfg.max_pages if split == cfg.train_split else cfg.max_eval_pages)
    if limit is not None:
        records = records[:limit]
    if not records:
        raise DataError(f"{root / (split + '.jsonl')}: no usable pages"
                        + (f" for {purpose} (every page is unlabelled, or partly labelled for sft, and labelled_only is set)"
                           if keep_labelled else ""))
    features = datasets.Features({"id": datasets.Value("string"), "image": datasets.Image(),
                                  "markdown": datasets.Value("string")})
    ds = datasets.Dataset.from_dict({k: [r[k] for r in records] for k in REQUIRED_KEYS}, features=features)
    if cfg.image_max_side:
        # Eager, once: the resized pages live in the dataset, so every epoch and process sees the same pixels.
        ds = ds.map(_shrink, fn_kwargs={"max_side": cfg.image_max_side}, desc="resize pages")
    return ds


def to_chat_rows(ds, instruction: str = OCR_INSTRUCTION):
    """TRL-style rows: `prompt` (chat messages, image placeholder first), `image`, `ground_truth`, `id`.

    The image column is left as it is (still lazily decoded); only the prompt is added and the ground truth
    renamed, so no page is decoded or re-encoded here.
    """
    prompt = build_messages(instruction)
    rows = ds.rename_column("markdown", "ground_truth")
    return rows.add_column("prompt", [prompt] * len(rows))


def load_chat_split(cfg: DataConfig, split: str, **kwargs):
    """`to_chat_rows(load_split(...))` with the config's instruction."""
    return to_chat_rows(load_split(cfg, split, **kwargs), cfg.instruction)
