"""TEDS and TEDS-S (PubTabNet's Tree-Edit-Distance-based Similarity), exact and fast.

Definition (Zhong et al. 2020, ``src/metric.py`` of PubTabNet): a table is a tree of its elements
(table, thead, tbody, tr, td, …; a ``td`` is a leaf carrying colspan, rowspan and its content tokens:
one token per character, plus one per inner tag such as ``<b>``). Insert and delete cost 1; renaming costs
1 if the tags or the spans differ, else (for cells) the Levenshtein distance of the content tokens divided
by the longer length, else 0. ``TEDS = 1 - distance / n`` where n is the larger number of elements below
the two ``<table>`` elements (``len(table.xpath('.//*'))``). TEDS-S (``structure_only``) drops the content.

Where the reference is broken, this module does the sensible thing (docs/tables.md says the same):
- a bare ``<table>`` (no html/body) is scored like a wrapped one (the reference returns 0);
- an unparseable span (``colspan="2a"``, ``""``) is read as its leading digits, else 1 (the reference
  raises); spans are only compared, so ``colspan="999999"`` costs nothing extra;
- an empty table pair (no elements below either table) scores 1 (the reference divides by zero);
- the score is clamped to [0, 1] (the reference can go negative when the distance exceeds n);
- ``th_as_td=True`` (default) reads ``<th>`` as a cell; ``th_as_td=False`` is the reference (a ``th`` is
  an inner node whose text is ignored and whose inner tags become tree nodes);
- identical input strings score 1.0, even without a table; otherwise a side without a table scores 0.

Bounds (so that no input can hang a training step): each table keeps at most ``MAX_TABLE_NODES`` nodes (a
preorder prefix: the first rows), then both are cut further, by 10 to 70 % at a time, until the tree-distance work
estimate fits ``MAX_WORK``; cell contents are cut to a common length when the pairwise Levenshtein work
would exceed ``MAX_LEVENSHTEIN_WORK``; past 65,534 distinct tag tokens (with the private-use characters
of the cell text) in a table pair, the remaining tags share one code. Table-shaped trees below 3,000 nodes (270×10, 30×60, 10×250 checked)
with ordinary cell text are never cut.
lxml caps nesting at 255 levels. Measured bounds are in ``docs/tables.md`` ("Bounds on work").
"""
from __future__ import annotations

import re

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from rewards.tables.html import FlatTree, TagToken, extract_tables, parse_table, table_tree
from rewards.tables.tree_edit_distance import TreeShape, tree_edit_distance, work

MAX_TABLE_NODES = 3000
MAX_WORK = 1_000_000  # estimated µs of tree-distance work (tree_edit_distance.work) per pair
MAX_LEVENSHTEIN_WORK = 150_000_000  # sum over cell pairs of ceil(len_a / 64) * len_b
MAX_TABLES_PER_PAGE = 24  # teds_page pairs at most this many tables per side (the rest count as unmatched)
_PRIVATE = re.compile("[\U00100000-\U0010fffd]")


def _tree_pair(pred_el, gt_el, structure_only: bool, th_as_td: bool):
    """Both trees and their shapes, cut to a common preorder-prefix size while the estimated distance
    work exceeds MAX_WORK."""
    limit = MAX_TABLE_NODES
    while True:
        t1 = table_tree(pred_el, structure_only=structure_only, th_as_td=th_as_td, max_nodes=limit)
        t2 = table_tree(gt_el, structure_only=structure_only, th_as_td=th_as_td, max_nodes=limit)
        s1, s2 = TreeShape(t1.lml), TreeShape(t2.lml)
        cost = min(work(a, b, m) for a, b in ((s1, s2), (s2, s1)) for m in (False, True))
        if limit <= 16 or cost <= MAX_WORK:
            return t1, s1, t2, s2
        limit = int(min(limit, max(len(t1), len(t2))) * min(0.9, max(0.3, (MAX_WORK / cost) ** 0.5)))


class _Labels:
    """Distinct node labels of one tree: cells first (span, encoded content), then other tags."""

    def __init__(self, tree: FlatTree, encode) -> None:
        cells: dict[tuple, int] = {}
        others: dict[str, int] = {}
        raw = []
        for tag, span, pieces in zip(tree.tags, tree.spans, tree.contents):
            if span is None:
                raw.append(-1 - others.setdefault(tag, len(others)))
            else:
                raw.append(cells.setdefault((span, encode(pieces)), len(cells)))
        self.n_cells = len(cells)
        self.index = np.asarray([r if r >= 0 else len(cells) - 1 - r for r in raw], dtype=np.intp)
        self.spans = [k[0] for k in cells]
        self.texts = [k[1] for k in cells]
        self.tags = list(others)


def _encoder(trees: tuple[FlatTree, FlatTree]):
    """Cell tokens as a string, one character per token: text characters stay themselves, each distinct
    tag token (``<b>``) becomes a private-use character that occurs in no cell text of either tree.
    Past 65,534 distinct tags and private-use text characters together (adversarial input only), the
    remaining tags share the last private-use character, U+10FFFD."""
    texts = "".join(p for t in trees for pieces in t.contents if pieces for p in pieces
                    if not isinstance(p, TagToken))
    used = set(_PRIVATE.findall(texts))
    # One pass over the range, so that many tags after many used characters cost no rescans.
    free = (chr(c) for c in range(0x100000, 0x10FFFE) if chr(c) not in used)
    codes: dict[str, str] = {}

    def encode(pieces: list[str]) -> str:
        if len(pieces) == 1 and not isinstance(pieces[0], TagToken):
            return pieces[0]
        parts = []
        for p in pieces:
            if isinstance(p, TagToken):
                if p not in codes:
                    codes[p] = next(free, "\U0010fffd")
                p = codes[p]
            parts.append(p)
        return "".join(parts)

    return encode


def _content_costs(a: list[str], b: list[str]) -> np.ndarray:
    """PubTabNet's normalized Levenshtein ``distance / max(len)`` (0 if both empty) of every pair."""
    work_units = sum(len(s) // 64 + 1 for s in a) * sum(len(s) + 1 for s in b)
    if work_units > MAX_LEVENSHTEIN_WORK:  # cut every cell to a common length until the work fits
        cap = max(map(len, a + b))  # both lists are non-empty here: an empty one makes the work 0
        while work_units > MAX_LEVENSHTEIN_WORK and cap > 1:
            cap //= 2
            work_units = sum(min(len(s), cap) // 64 + 1 for s in a) * sum(min(len(s), cap) + 1 for s in b)
        a, b = [s[:cap] for s in a], [s[:cap] for s in b]
    dist = process.cdist(a, b, scorer=Levenshtein.distance, dtype=np.int64, workers=1)
    longer = np.maximum.outer(np.fromiter(map(len, a), np.int64, len(a)), np.fromiter(map(len, b), np.int64, len(b)))
    return np.divide(dist, longer, out=np.zeros(dist.shape), where=longer > 0)


def _rename_matrix(t1: FlatTree, t2: FlatTree, structure_only: bool) -> np.ndarray:
    """PubTabNet's rename cost for every node pair, computed once per pair of distinct labels."""
    encode = (lambda pieces: "") if structure_only else _encoder((t1, t2))
    l1, l2 = _Labels(t1, encode), _Labels(t2, encode)
    cost = np.ones((l1.n_cells + len(l1.tags), l2.n_cells + len(l2.tags)))
    if l1.n_cells and l2.n_cells:
        span_ids: dict[tuple, int] = {}  # spans may be arbitrarily large ints: compare ids
        s1 = np.asarray([span_ids.setdefault(s, len(span_ids)) for s in l1.spans])
        s2 = np.asarray([span_ids.setdefault(s, len(span_ids)) for s in l2.spans])
        same = s1[:, None] == s2[None, :]
        text = np.zeros(same.shape) if structure_only else _content_costs(l1.texts, l2.texts)
        cost[: l1.n_cells, : l2.n_cells] = np.where(same, text, 1.0)
    tags2 = {t: j for j, t in enumerate(l2.tags)}
    for i, t in enumerate(l1.tags):  # inner nodes: 0 for the same tag (no spans, no content)
        if t in tags2:
            cost[l1.n_cells + i, l2.n_cells + tags2[t]] = 0.0
    return cost[l1.index[:, None], l2.index[None, :]]


def _tree_score(t1: FlatTree, s1: TreeShape, t2: FlatTree, s2: TreeShape, structure_only: bool) -> float:
    if t1.tags == t2.tags and t1.spans == t2.spans and t1.lml == t2.lml and (
        structure_only or [_flat(c) for c in t1.contents] == [_flat(c) for c in t2.contents]
    ):
        return 1.0  # identical trees: distance 0 (this also covers two empty tables, n = 0)
    n = max(t1.n_elements, t2.n_elements)
    distance = tree_edit_distance(s1, s2, _rename_matrix(t1, t2, structure_only))
    return min(1.0, max(0.0, 1.0 - distance / n))


def _flat(pieces: list[str] | None) -> tuple | None:
    return None if pieces is None else tuple((isinstance(p, TagToken), p) for p in pieces)


def teds(pred_html: str, gt_html: str, *, structure_only: bool = False, th_as_td: bool = True) -> float:
    """TEDS (or TEDS-S with ``structure_only``) of the first table of ``pred_html`` against the first table
    of ``gt_html``, in [0, 1]. See the module docstring for the definition and the documented deviations
    from PubTabNet's reference (bare tables, malformed spans, empty tables, clamping, ``th``)."""
    if isinstance(pred_html, str) and pred_html == gt_html:
        return 1.0
    pred_el, gt_el = parse_table(pred_html), parse_table(gt_html)
    if pred_el is None or gt_el is None:
        return 0.0
    return _tree_score(*_tree_pair(pred_el, gt_el, structure_only, th_as_td), structure_only)


def _max_assignment(score: list[list[float]]) -> float:
    """Largest sum of scores over a one-to-one assignment of rows to columns (Hungarian algorithm)."""
    n_rows, n_cols = len(score), len(score[0])
    n = max(n_rows, n_cols)
    cost = [[-(score[i][j] if i < n_rows and j < n_cols else 0.0) for j in range(n)] for i in range(n)]
    u, v = [0.0] * (n + 1), [0.0] * (n + 1)
    match, way = [0] * (n + 1), [0] * (n + 1)  # match[col] = row (1-based), 0 = free
    for i in range(1, n + 1):
        match[0], j0 = i, 0
        minv, used = [float("inf")] * (n + 1), [False] * (n + 1)
        while match[j0]:
            used[j0] = True
            i0, delta, j1 = match[j0], float("inf"), 0
            for j in range(1, n + 1):
                if not used[j]:
                    cur = cost[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
        while j0:
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
    return sum(-cost[match[j] - 1][j - 1] for j in range(1, n + 1) if match[j])


def teds_tables(pred_tables: list[str], gt_tables: list[str], *, structure_only: bool = False,
                th_as_td: bool = True) -> float:
    """Page-level TEDS of two lists of table HTML: the one-to-one pairing of predicted with ground-truth
    tables that maximizes the summed TEDS, divided by the larger number of tables (so a missing or an
    extra table counts as a pair scoring 0). No table on either side: 1.0. Only the first
    ``MAX_TABLES_PER_PAGE`` tables of each side take part in the pairing; the rest count as unmatched."""
    p, g = len(pred_tables), len(gt_tables)
    if p == 0 and g == 0:
        return 1.0
    if p == 0 or g == 0:
        return 0.0
    pred_tables, gt_tables = pred_tables[:MAX_TABLES_PER_PAGE], gt_tables[:MAX_TABLES_PER_PAGE]
    scores = [[teds(a, b, structure_only=structure_only, th_as_td=th_as_td) for b in gt_tables]
              for a in pred_tables]
    return _max_assignment(scores) / max(p, g)


def teds_page(pred_md: str, gt_md: str, structure_only: bool = False, *, th_as_td: bool = True) -> float:
    """``teds_tables`` over the HTML tables of two Markdown pages (``html_tables.extract_tables``)."""
    return teds_tables(extract_tables(pred_md or ""), extract_tables(gt_md or ""),
                       structure_only=structure_only, th_as_td=th_as_td)
