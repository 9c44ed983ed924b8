"""Work items over processes, with a progress bar; the shard split and the resume filter live with the items.

Work items are independent and deterministic, so the order in which workers finish them never changes a
byte of the output; results arrive as they finish and only feed the progress bar and the error list.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from tqdm import tqdm

Item = TypeVar("Item")


@dataclass
class WorkResult:
    pages_written: int = 0
    pages_skipped: int = 0
    errors: list[str] = field(default_factory=list)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_items(fn: Callable[[Item], WorkResult], items: Sequence[Item], *, workers: int, total_pages: int,
              desc: str, progress: bool = True) -> list[WorkResult]:
    """Run `fn` on every item, in `workers` processes (in this process when 1), with a page progress bar.

    `fn` must be a module-level function (it is pickled by name). Errors it reports come back in the
    results; an exception it raises is a bug and stops the run.
    """
    results: list[WorkResult] = []
    if workers <= 1 or len(items) <= 1:
        with _bar(total_pages, desc, progress) as bar:
            for item in items:
                results.append(_tick(bar, fn(item)))
        return results
    # fork is cheapest (PyMuPDF and the fonts are already loaded) and is started before the progress
    # bar's monitor thread exists; spawn where fork does not exist.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(min(workers, len(items))) as pool:
        with _bar(total_pages, desc, progress) as bar:
            for result in pool.imap_unordered(fn, items, chunksize=1):
                results.append(_tick(bar, result))
    return results


def _bar(total: int, desc: str, progress: bool) -> tqdm:
    return tqdm(total=total, desc=desc, unit="page", disable=not progress, file=sys.stderr, dynamic_ncols=True)


def _tick(bar: tqdm, result: WorkResult) -> WorkResult:
    bar.update(result.pages_written + result.pages_skipped)
    for line in result.errors:
        bar.write(line, file=sys.stderr)
    return result
