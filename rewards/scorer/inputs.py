"""Reading the scorer's inputs: a folder of ``.md`` files, a JSONL file or OmniDocBench's JSON.

- A folder: every ``*.md`` below it (recursively); a page's id is its path relative to the folder, without
  the ``.md`` suffix, with ``/`` separators (``a/p1.md`` → ``a/p1``).
- A JSONL file: one JSON object a line with ``id`` (string or integer) and the page text: for predictions
  ``prediction`` if present, else ``markdown``; for ground truth ``markdown`` if present, else
  ``prediction``. A ``null`` ground-truth text means "unlabelled" (the page is scored without ground
  truth). A prediction line may say it hit the token limit: ``"finish_reason": "length"`` or
  ``"truncated": true``. Blank lines are skipped. A prepared dataset's ``validation.jsonl`` is a valid
  ground-truth file as it is.
- A ``.json`` file: OmniDocBench's ground truth (``rewards.scorer.omnidocbench``), one page per image,
  its id the image name without extension.
Ids match across the two inputs whatever their form (a folder of predictions against a JSONL of ground
truth works). Each bad input (unreadable file, not UTF-8, a malformed line, a duplicate id) is reported
once, as ``<file>[:<line>]: <problem>``, and skipped; the rest goes on.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rewards.scorer.omnidocbench import is_omnidocbench, read_omnidocbench

TEXT_FIELDS = {"pred": ("prediction", "markdown"), "gt": ("markdown", "prediction")}


@dataclass(frozen=True, slots=True)
class PageInput:
    id: str
    text: str | None  # None: unlabelled ground truth
    source: str  # "<file>" or "<file>:<line>", for messages
    hit_max_tokens: bool = False


@dataclass
class LoadResult:
    pages: dict[str, PageInput] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def load_pages(path: str | Path, role: str, on_error: Callable[[str], None] | None = None) -> LoadResult:
    """Pages of a folder or JSONL file. ``role`` is "pred" or "gt" (which text field comes first)."""
    path = Path(path)
    result = LoadResult()

    def error(message: str) -> None:
        result.errors.append(message)
        if on_error is not None:
            on_error(message)

    if path.is_dir():
        _load_folder(path, result, error)
    elif is_omnidocbench(path) and role == "pred":
        error(f"{path}: a .json file is read as OmniDocBench ground truth (--gt); give predictions as a folder "
              f"of .md files or a .jsonl file")
    elif is_omnidocbench(path):
        for page_id, text, where in read_omnidocbench(path, error):
            _add(result, PageInput(page_id, text, where), error)
    elif path.is_file():
        _load_jsonl(path, role, result, error)
    else:
        error(f"{path}: no such file or folder")
    return result


def _add(result: LoadResult, page: PageInput, error: Callable[[str], None]) -> None:
    if page.id in result.pages:
        error(f"{page.source}: duplicate id {page.id!r} (first at {result.pages[page.id].source}); skipped")
        return
    result.pages[page.id] = page


def _load_folder(root: Path, result: LoadResult, error: Callable[[str], None]) -> None:
    files = sorted(root.rglob("*.md"))
    if not files:
        error(f"{root}: no .md files in this folder")
    for f in files:
        page_id = f.relative_to(root).with_suffix("").as_posix()
        try:
            text = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            error(f"{f}: not UTF-8 (byte {exc.start}: {exc.reason}); skipped")
            continue
        except OSError as exc:
            error(f"{f}: unreadable ({exc.strerror or exc}); skipped")
            continue
        _add(result, PageInput(page_id, text, str(f)), error)


def _load_jsonl(path: Path, role: str, result: LoadResult, error: Callable[[str], None]) -> None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        error(f"{path}: unreadable ({exc.strerror or exc})")
        return
    fields = TEXT_FIELDS[role]
    for number, line in enumerate(raw.split(b"\n"), start=1):
        where = f"{path}:{number}"
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            error(f"{where}: not UTF-8 (byte {exc.start}: {exc.reason}); line skipped")
            continue
        except json.JSONDecodeError as exc:
            error(f"{where}: malformed JSON ({exc.msg} at column {exc.colno}); line skipped")
            continue
        if not isinstance(record, dict):
            error(f"{where}: expected a JSON object, got {type(record).__name__}; line skipped")
            continue
        page_id = record.get("id")
        if isinstance(page_id, bool) or not isinstance(page_id, (str, int)) or page_id == "":
            error(f"{where}: missing or invalid 'id' (a non-empty string or an integer); line skipped")
            continue
        name = next((k for k in fields if k in record), None)
        if name is None:
            error(f"{where}: no text field ({' or '.join(repr(k) for k in fields)}); line skipped")
            continue
        text = record[name]
        if text is None and role == "pred":
            error(f"{where}: '{name}' is null; a prediction must be a string; line skipped")
            continue
        if text is not None and not isinstance(text, str):
            error(f"{where}: '{name}' must be a string or null, got {type(text).__name__}; line skipped")
            continue
        hit = record.get("finish_reason") == "length" or record.get("truncated") is True
        _add(result, PageInput(str(page_id), text, where, hit), error)
