"""Score the table labeller against a table ground truth such as the ICDAR 2013 competition's.

The ground truth is a folder of `grids/<doc>.json` (`tables: [{page (1-based), shape, cells: [{start_row,
start_col, end_row, end_col (inclusive), bbox (PDF points, origin bottom left), content}]}]`) beside the
PDFs. Each ground-truth table is scored by PubTabNet's TEDS (`rewards.teds`) against the best table found on
its page; it is *missed* when no table found on the page overlaps its region.
"""
from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from rewards import teds

# (page, words) -> [(table bbox, table html)]: one engine under test
Engine = Callable[[pymupdf.Page, list], list[tuple[pymupdf.Rect, str]]]
WORD_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP


def gt_html(table: dict) -> str:
    """A ground-truth table as HTML; grid positions no cell covers become empty cells."""
    n_rows, n_cols = table["shape"]
    by_row: dict[int, list[tuple[int, str]]] = {r: [] for r in range(n_rows)}
    covered: set[tuple[int, int]] = set()
    for c in table["cells"]:
        rs, cs = c["end_row"] - c["start_row"] + 1, c["end_col"] - c["start_col"] + 1
        attrs = (f' colspan="{cs}"' if cs > 1 else "") + (f' rowspan="{rs}"' if rs > 1 else "")
        by_row[c["start_row"]].append((c["start_col"], f"<td{attrs}>{html.escape(' '.join(c['content'].split()), quote=False)}</td>"))
        covered |= {(r, k) for r in range(c["start_row"], c["end_row"] + 1) for k in range(c["start_col"], c["end_col"] + 1)}
    for r in range(n_rows):
        by_row[r] += [(k, "<td></td>") for k in range(n_cols) if (r, k) not in covered]
    return "<table>" + "".join("<tr>" + "".join(td for _, td in sorted(by_row[r])) + "</tr>" for r in range(n_rows)) + "</table>"


def gt_region(table: dict, page_height: float) -> pymupdf.Rect:
    """The table's cells' union in PyMuPDF's coordinates (origin top left)."""
    xs0, ys0, xs1, ys1 = zip(*(c["bbox"] for c in table["cells"]))
    return pymupdf.Rect(min(xs0), page_height - max(ys1), max(xs1), page_height - min(ys0))


@dataclass
class TableScore:
    doc: str
    page: int
    teds: float
    missed: bool


@dataclass
class EngineResult:
    scores: list[TableScore]
    seconds_per_page: float  # wall clock
    cpu_seconds_per_page: float  # this process's CPU time: steadier than wall time on a shared machine

    @property
    def mean_teds(self) -> float:
        return sum(s.teds for s in self.scores) / len(self.scores)

    @property
    def missed(self) -> int:
        return sum(s.missed for s in self.scores)


def evaluate(root: Path, engine: Engine) -> EngineResult:
    """Run `engine` on every page of `root` that holds a ground-truth table and score each table."""
    grids = sorted(Path(root, "grids").glob("*.json"))
    if not grids:
        raise FileNotFoundError(f"{root}: no grids/*.json ground truth in this folder")
    scores: list[TableScore] = []
    seconds, cpu, pages = 0.0, 0.0, 0
    warmed = False
    for path in grids:
        truth = json.loads(path.read_text())
        with pymupdf.open(Path(root) / truth["pdf"]) as doc:
            for number in sorted({t["page"] for t in truth["tables"]}):
                page = doc[number - 1]
                words = page.get_text("words", flags=WORD_FLAGS)
                if not warmed:  # first calls pay for lazy imports and caches: not a page's cost
                    engine(page, words)
                    warmed = True
                start, start_cpu = time.perf_counter(), time.process_time()
                found = engine(page, words)
                seconds += time.perf_counter() - start
                cpu += time.process_time() - start_cpu
                pages += 1
                for table in (t for t in truth["tables"] if t["page"] == number):
                    region = gt_region(table, page.rect.height)
                    gt = gt_html(table)
                    best = max((teds(h, gt) for _, h in found), default=0.0)
                    missed = not any(not (pymupdf.Rect(r) & region).is_empty for r, _ in found)
                    scores.append(TableScore(truth["doc"], number, best, missed))
    return EngineResult(scores, seconds / pages, cpu / pages)
