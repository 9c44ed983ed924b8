"""OmniDocBench's ground-truth JSON read directly: one Markdown page per annotated image.

OmniDocBench (opendatalab/OmniDocBench) ships its ground truth as one JSON list of pages; each page has
``page_info.image_path`` and ``layout_dets``, a list of annotated elements with ``category_type``,
``order`` (reading order) and ``ignore``. This module turns each page into a page of the output convention,
so ``firered-ocr score --gt OmniDocBench.json --pred DIR`` scores any system's ``DIR/<image name>.md``
against the benchmark with no conversion step:

- page id: the image's file name without its extension (``docs/a.pdf_4.jpg`` → ``a.pdf_4``), which is
  how OmniDocBench names the prediction files it reads;
- elements in reading order (``order``; an element without one comes after those with one), each a block
  of its own;
- ``title`` → a ``#`` heading; ``text_block``, ``code_txt``, ``code_txt_caption``, ``reference`` → their
  ``text`` (inline math ``$ x $`` written ``$x$``); ``equation_isolated`` → ``$$ latex $$``; ``table`` → its ``html`` (else its ``latex``);
- left out, as OmniDocBench's end-to-end evaluation leaves them out of its scores: elements marked
  ``ignore``, and the categories in ``IGNORED_CATEGORIES`` (captions, footnotes, headers, footers, page
  numbers, algorithm code, equation captions), plus those with no text at all (``figure``, ``abandon``).

Each problem (not JSON, not a list of pages, a page without an image path, a duplicate id) is reported as
``<file>: <problem>`` (with the page's index), and the rest is read.
"""
from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Callable

TEXT_CATEGORIES = ("text_block", "code_txt", "code_txt_caption", "reference")
# OmniDocBench writes inline math with a space inside each dollar (`$ \frac{2}{17} $`); by pandoc's rule a
# `$` before a space opens nothing, so the formula would go unseen. Currency (`$10 or $20`) never matches.
_SPACED_MATH = re.compile(r"\$ ([^$\n]*?[^$\s]) \$")
# The categories OmniDocBench's end-to-end evaluation matches but then drops from every score
# (dataset/end2end_dataset.py, the list given to filtered_out_ignore).
IGNORED_CATEGORIES = ("figure_caption", "figure_footnote", "table_caption", "table_footnote", "code_algorithm",
                      "code_algorithm_caption", "header", "footer", "page_footnote", "page_number",
                      "equation_caption")


def is_omnidocbench(path: Path) -> bool:
    """A ``.json`` file (not JSONL) is read as OmniDocBench ground truth."""
    return path.is_file() and path.suffix.lower() == ".json"


def _element_markdown(element: dict) -> str | None:
    category = element.get("category_type")
    if category == "title":
        text = str(element.get("text") or "").strip()
        return f"# {text}" if text else None
    if category in TEXT_CATEGORIES:
        text = _SPACED_MATH.sub(r"$\1$", str(element.get("text") or "").strip())
        return text or None
    if category == "equation_isolated":
        latex = str(element.get("latex") or "").strip().strip("$").strip()
        return f"$$\n{latex}\n$$" if latex else None
    if category == "table":
        source = str(element.get("html") or element.get("latex") or "").strip()
        return source or None
    return None  # ignored categories, figures, abandoned regions, anything unknown


def page_markdown(page: dict) -> str:
    """One OmniDocBench page as a Markdown page of the output convention (module docstring)."""
    elements = [e for e in page.get("layout_dets") or [] if isinstance(e, dict)]
    kept = [e for e in elements if not e.get("ignore") and e.get("category_type") not in IGNORED_CATEGORIES]
    kept.sort(key=lambda e: (0, e["order"]) if isinstance(e.get("order"), (int, float)) else (1, 0))
    parts = [md for md in (_element_markdown(e) for e in kept) if md]
    return "\n\n".join(parts) + ("\n" if parts else "")


def page_id(page: dict) -> str | None:
    """The image name without its extension, or None when the page names no image."""
    info = page.get("page_info")
    image = info.get("image_path") if isinstance(info, dict) else None
    if not isinstance(image, str) or not image.strip():
        return None
    return PurePosixPath(image.replace("\\", "/")).stem


def read_omnidocbench(path: Path, error: Callable[[str], None]) -> list[tuple[str, str, str]]:
    """(id, markdown, source) of every page of an OmniDocBench JSON file; problems go to ``error``."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        error(f"{path}: unreadable ({exc.strerror or exc})")
        return []
    except UnicodeDecodeError as exc:
        error(f"{path}: not UTF-8 (byte {exc.start}: {exc.reason})")
        return []
    except json.JSONDecodeError as exc:
        error(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); for one page a "
              f"line use a .jsonl file")
        return []
    if not isinstance(data, list):
        error(f"{path}: expected OmniDocBench ground truth (a JSON list of pages), got {type(data).__name__}")
        return []
    pages = []
    for index, page in enumerate(data):
        where = f"{path}: page {index}"
        if not isinstance(page, dict) or not isinstance(page.get("layout_dets"), list):
            error(f"{where}: not an OmniDocBench page (no 'layout_dets' list); skipped")
            continue
        pid = page_id(page)
        if pid is None:
            error(f"{where}: no page_info.image_path to name the page; skipped")
            continue
        pages.append((pid, page_markdown(page), where))
    return pages
