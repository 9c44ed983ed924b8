"""Structural hallucinations of one page: what is wrong, and where (character offsets into the prediction).

The categories (``CATEGORIES`` holds the definitions the scorer's report prints; docs/rewards.md ("Hallucination
categories") says the same at length). The first seven need no ground truth; the last four (``GT_CATEGORIES``) compare
with it.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator

from rewards.page.analysis import PageAnalysis, TableInfo, analyze, loops_not_in
from rewards.page.repetition import Loop
from rewards.tables.structure import CLOSURE_KINDS
from rewards.tables.normalization import normalize_table
from rewards.tables.pairing import best_pairs
from rewards.tables.shared_rows import differing_rows, teds_shared_rows
from rewards.page.truncation import find_truncation

CATEGORIES: dict[str, str] = {
    "unclosed_table": "a closure error of a table's own tags (check_table): a table, section, row or cell "
    "left open, an end tag that closes nothing, a row or cell outside its table or row",
    "ragged_table": "a table whose grid is inconsistent (check_table): rows covering different numbers of "
    "columns once colspan/rowspan are expanded, cells overlapping a row span, a rowspan past the last row, "
    "a malformed or out-of-range span, a grid over 4096 columns (pipe tables: a row with a different number "
    "of cells than the header)",
    "invalid_formula": "a formula (display or inline) that would not compile in display math with amsmath and "
    "amssymb, as check_latex judges it; the message gives its reason",
    "unclosed_tag": "anything else left open or closed without an opening: an HTML tag outside tables, a math "
    "delimiter ($, $$, \\(, \\[), a code fence, or a table tag outside any table",
    "repetition_loop": "a unit of 1-64 tokens (phrase, cell, row) repeated back to back at least 5 times, "
    "the copies after the first holding at least 48 tokens, or a line of 20+ characters 3+ times in a row; "
    "not counted when the ground truth holds the same repeated text",
    "truncation": "the output stops inside a structure (last table, formula or code fence left open, a tag "
    "cut short), a loop runs to the end, or generation hit the token limit",
    "output_wrapper": "the whole output is wrapped in a code fence (```markdown, ```md, ```html, ```latex or a "
    "bare fence), which the output convention forbids; the content inside is scored as the page, so nothing "
    "in it counts as missing",
    "invented_rows": "with ground truth: a predicted table with more rows than the ground-truth table paired "
    "with it",
    "missing_rows": "with ground truth: a predicted table with fewer rows than the ground-truth table paired "
    "with it",
    "invented_table": "with ground truth: a predicted table that no ground-truth table pairs with",
    "missing_table": "with ground truth: a ground-truth table that no predicted table pairs with (its "
    "location is the end of the prediction)",
}
GT_CATEGORIES = ("invented_rows", "missing_rows", "invented_table", "missing_table")
MAX_PER_CATEGORY = 100  # findings listed per category and page; one more finding counts the rest
MAX_LOCATED_ROWS = 5000  # beyond this, row findings point at the whole table (locating costs a reparse)
_ROW_START = re.compile(r"<tr\b", re.I)
_TABLE_END = re.compile(r"</table\b", re.I)


@dataclass(frozen=True, slots=True)
class Finding:
    category: str
    message: str
    start: int  # character offsets into the prediction
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


def table_pairs(pred: PageAnalysis, gt: PageAnalysis, *, structure_only: bool = False,
                normalization: str = "pubtabnet") -> tuple[list[tuple[int, int]], list[list[float]]]:
    """The pairing that maximises the summed TEDS (table_pairing), and the TEDS of every (pred, gt) pair,
    each table normalised first as ``normalization`` says (``rewards.tables.normalization``)."""
    gts = [normalize_table(g.html, normalization) for g in gt.tables]
    scores = [[teds_shared_rows(normalize_table(p.html, normalization), g, structure_only=structure_only)
               for g in gts] for p in pred.tables]
    return best_pairs(scores), scores


def _tag_end(html: str, pos: int) -> int:
    """End of the tag that starts at ``pos`` (just past its ``>``, or where the next tag starts)."""
    stop = html.find(">", pos, pos + 500)  # bounded: thousands of issues must not each scan the table
    nxt = html.find("<", pos + 1, pos + 500)
    if stop < 0 or (0 <= nxt < stop):
        return nxt if nxt >= 0 else min(len(html), pos + 500)
    return stop + 1


def _table_findings(pred: PageAnalysis) -> list[Finding]:
    found = list(_table_issues(pred))
    return (_capped("unclosed_table", ((m, s, e) for c, m, s, e in found if c == "unclosed_table"))
            + _capped("ragged_table", ((m, s, e) for c, m, s, e in found if c == "ragged_table")))


def _table_issues(pred: PageAnalysis) -> Iterator[tuple[str, str, int, int]]:
    for info, check in zip(pred.tables, pred.table_checks):
        block = info.block
        for issue in check.issues:
            category = "unclosed_table" if issue.kind in CLOSURE_KINDS else "ragged_table"
            if block.kind != "html_table":  # pipe table: offsets into the converted HTML mean nothing here
                start, end = block.start, block.end
            elif issue.kind == "unclosed_table":
                start, end = block.start + issue.pos, block.end
            else:
                pos = max(0, min(issue.pos, len(info.html)))
                start, end = block.start + pos, block.start + _tag_end(info.html, pos)
            yield category, issue.message, start, end


def _rows_span(pred: TableInfo, gt: TableInfo, normalization: str = "pubtabnet") -> tuple[int, int, str]:
    """Where a table's rows depart from the ground truth's (rows both share at the top and at the bottom
    left out): a span in the page and a phrase for the message; the whole table when rows cannot be told
    apart (sections, nested tables, a comment holding a tag, a pipe table, more than MAX_LOCATED_ROWS)."""
    block = pred.block
    starts = [m.start() for m in _ROW_START.finditer(pred.html)] if block.kind == "html_table" else []
    # Rows are compared as TEDS compares them (normalisation keeps every row, so indices still match).
    rows = (differing_rows(normalize_table(pred.html, normalization), normalize_table(gt.html, normalization))
            if 0 < len(starts) <= MAX_LOCATED_ROWS else None)
    if rows is None or len(starts) != rows[2]:  # the raw <tr> tags are not lxml's rows: do not guess
        return block.start, block.end, ""
    first, stop, n = rows
    closing = list(_TABLE_END.finditer(pred.html))
    table_end = closing[-1].start() if closing else len(pred.html)
    bounds = starts + [table_end]
    if first >= stop:  # nothing extra in the prediction: rows are missing just here (the span: what follows)
        if first < n:
            return block.start + bounds[first], block.start + bounds[first + 1], f", before row {first + 1}"
        return block.start + table_end, block.end, ", at the end of the table"
    rows_text = f"row {first + 1} differs" if stop == first + 1 else f"rows {first + 1}-{stop} differ"
    return block.start + bounds[first], block.start + bounds[stop], f": {rows_text}"


def _gt_findings(pred: PageAnalysis, gt: PageAnalysis, pairs: list[tuple[int, int]],
                 normalization: str = "pubtabnet") -> list[Finding]:
    out: list[Finding] = []
    paired_pred = {i for i, _ in pairs}
    paired_gt = {j for _, j in pairs}
    for i, j in pairs:
        got, want = pred.table_rows[i], gt.table_rows[j]
        if got != want:
            start, end, where = _rows_span(pred.tables[i], gt.tables[j], normalization)
            what = f"({got - want} invented)" if got > want else f"({want - got} missing)"
            out.append(Finding("invented_rows" if got > want else "missing_rows",
                               f"table {i + 1} has {got} rows, the ground truth {want} {what}{where}", start, end))
    for i, info in enumerate(pred.tables):
        if i not in paired_pred:
            rows = pred.table_rows[i]
            out.append(Finding("invented_table", f"table {i + 1} ({rows} rows) has no counterpart in the "
                                                 "ground truth", info.block.start, info.block.end))
    end = len(pred.text)
    for j in range(len(gt.tables)):
        if j not in paired_gt:
            rows = gt.table_rows[j]
            out.append(Finding("missing_table", f"ground-truth table {j + 1} ({rows} rows) is missing from the "
                                                "prediction", end, end))
    return out


def _capped(category: str, items: Iterable[tuple[str, int, int]]) -> list[Finding]:
    """The first MAX_PER_CATEGORY findings of a category, then one that says how many more there are
    (a looping model can write 100,000 broken formulas: listing each helps nobody and costs seconds)."""
    out: list[Finding] = []
    more = 0
    first = last = 0
    for message, start, end in items:
        if len(out) < MAX_PER_CATEGORY:
            out.append(Finding(category, message, start, end))
            continue
        if more == 0:
            first = start
        more += 1
        last = max(last, end)
    if more:
        out.append(Finding(category, f"... and {more} more {category} findings", first, max(first, last)))
    return out


def collect_findings(pred: PageAnalysis, gt: PageAnalysis | None, *, hit_max_tokens: bool = False,
                     pairs: tuple[list[tuple[int, int]], list[list[float]]] | None = None,
                     loops: list[Loop] | None = None, normalization: str = "pubtabnet") -> list[Finding]:
    """All findings; ``pairs`` (from ``table_pairs``) and ``loops`` (from ``loops_not_in``) when the caller
    already has them."""
    out = _table_findings(pred)
    out += _capped("invalid_formula", ((f"{c.reason}", b.start, b.end) for b, c in pred.formulas if not c.ok))
    out += _capped("unclosed_tag", ((i.message, i.start, i.end) for i in pred.closure.issues))
    loops = loops_not_in(pred, gt) if loops is None else loops
    out += _capped("repetition_loop", ((f"{_shorten(lp.unit)!r} repeated {lp.copies} times", lp.start, lp.end)
                                       for lp in loops))
    out += [Finding("truncation", r.message, r.start, r.end)
            for r in find_truncation(pred.page, loops, hit_max_tokens=hit_max_tokens)]
    wrapper = pred.page.wrapper
    if wrapper is not None:
        out.append(Finding("output_wrapper", wrapper.describe(), wrapper.open_start, wrapper.open_end))
    if gt is not None:
        pairs = pairs or table_pairs(pred, gt, normalization=normalization)
        out += _gt_findings(pred, gt, pairs[0], normalization)
    return sorted(out, key=lambda f: (f.start, f.end, f.category))


def _shorten(unit: str) -> str:
    unit = unit.strip().replace("\n", " ")
    return unit if len(unit) <= 60 else unit[:57] + "..."


def find_hallucinations(pred_md: str, gt_md: str | None = None, *, hit_max_tokens: bool = False) -> list[Finding]:
    """Every finding of the categories in ``CATEGORIES``; those of ``GT_CATEGORIES`` only with ``gt_md``."""
    gt = analyze(gt_md) if gt_md is not None else None
    return collect_findings(analyze(pred_md), gt, hit_max_tokens=hit_max_tokens)
