"""TEDS of two tables that share their first and last rows, exactly, at the cost of the rows that differ.

The completions of one GRPO group mostly differ from the ground truth in a row or two. Tree edit distance
does not change when both trees lose an identical leftmost (or rightmost) child subtree of their roots:

    δ(r(T·F), r(T·G)) = δ(r(F), r(G))

(≤: map the two copies of T onto each other at cost 0. ≥: take an optimal mapping M and keep only its pairs
outside the two copies A and B of T. Ordered mappings cannot send nodes of A into the rest of the second tree
*and* nodes of the rest of the first tree into B, as A lies left of everything else but the root. Say only
A → rest happens: each such pair is paid for by an unmapped node of B (|A| = |B|), so dropping those pairs
and A, B costs no more than M. Rename costs depend on the two nodes only, so kept pairs cost the same.)

So with rows as the root's only children (the output convention: ``<table><tr>…``, no sections), the
common leading and trailing rows are dropped, ``teds.teds`` scores the rest, and the distance is rescaled
to the full tables' denominator: ``TEDS = 1 − d / n_full`` with ``d = (1 − TEDS_rest) · n_rest``. Rows are
the same when their serialisations are (TEDS-S: when their cells' tags and spans are). Anything outside
that case (sections, a table too big for ``teds`` to score uncut, a clamped score, a reparse that does not
give back the same elements) goes to ``teds.teds`` unchanged. ``tests/rewards/test_properties.py`` checks
equality with ``teds.teds`` to 1e-9 on random tables and edits.
"""
from __future__ import annotations

from lxml import etree

from rewards.tables.html import parse_span, parse_table
from rewards.tables.teds import teds

# Below this many elements per table, teds.teds never cuts a tree (its bounds start near 150x10 cells),
# so the shortcut returns exactly what teds.teds would.
MAX_SHORTCUT_ELEMENTS = 1000
_CELLS = ("td", "th")


def _rows(table: etree._Element) -> list[etree._Element] | None:
    kids = [c for c in table if isinstance(c.tag, str)]
    return kids if all(c.tag == "tr" for c in kids) else None


def _row_key(row: etree._Element, structure_only: bool) -> object:
    if structure_only:
        cells = [c for c in row if isinstance(c.tag, str)]
        if all(c.tag in _CELLS for c in cells):
            return tuple((parse_span(c.get("colspan")), parse_span(c.get("rowspan"))) for c in cells)
    return etree.tostring(row, method="html", encoding="unicode", with_tail=False)


def _size(rows: list[etree._Element]) -> int:
    return sum(1 + sum(1 for _ in r.iterdescendants(etree.Element)) for r in rows)


def _common_ends(a: list[object], b: list[object]) -> tuple[int, int]:
    """Lengths of the common prefix and of the common suffix after it."""
    lead = 0
    while lead < min(len(a), len(b)) and a[lead] == b[lead]:
        lead += 1
    tail = 0
    while tail < min(len(a), len(b)) - lead and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return lead, tail


def differing_rows(pred_html: str, gt_html: str) -> tuple[int, int, int] | None:
    """Where the predicted table departs from the ground truth's: (first differing row, end of the
    differing rows, number of rows) of the prediction, rows that both share at the top and at the bottom
    left out; None unless both tables are plain rows (``<table><tr>…``)."""
    p_el, g_el = parse_table(pred_html), parse_table(gt_html)
    p_rows = _rows(p_el) if p_el is not None else None
    g_rows = _rows(g_el) if g_el is not None else None
    if p_rows is None or g_rows is None:
        return None
    lead, tail = _common_ends([_row_key(r, False) for r in p_rows], [_row_key(r, False) for r in g_rows])
    return lead, len(p_rows) - tail, len(p_rows)


def teds_shared_rows(pred_html: str, gt_html: str, *, structure_only: bool = False) -> float:
    """Equal to ``teds.teds(pred_html, gt_html, structure_only=...)``; faster when rows are shared."""
    if pred_html == gt_html:
        return 1.0
    p_el, g_el = parse_table(pred_html), parse_table(gt_html)
    if p_el is None or g_el is None:
        return teds(pred_html, gt_html, structure_only=structure_only)
    p_rows, g_rows = _rows(p_el), _rows(g_el)
    if p_rows is None or g_rows is None:
        return teds(pred_html, gt_html, structure_only=structure_only)
    n_full = max(_size(p_rows), _size(g_rows))
    if n_full == 0 or n_full > MAX_SHORTCUT_ELEMENTS:
        return teds(pred_html, gt_html, structure_only=structure_only)
    lead, tail = _common_ends([_row_key(r, structure_only) for r in p_rows],
                              [_row_key(r, structure_only) for r in g_rows])
    if lead == 0 and tail == 0:
        return teds(pred_html, gt_html, structure_only=structure_only)
    p_rest, g_rest = p_rows[lead : len(p_rows) - tail], g_rows[lead : len(g_rows) - tail]
    n_p, n_g = _size(p_rest), _size(g_rest)
    if not p_rest or not g_rest:  # only insertions (or deletions) are left: d is the other side's node count
        distance = float(_tree_nodes(p_rest) + _tree_nodes(g_rest))
    else:
        p_html = "<table>" + "".join(etree.tostring(r, method="html", encoding="unicode", with_tail=False)
                                     for r in p_rest) + "</table>"
        g_html = "<table>" + "".join(etree.tostring(r, method="html", encoding="unicode", with_tail=False)
                                     for r in g_rest) + "</table>"
        p_back, g_back = parse_table(p_html), parse_table(g_html)
        if p_back is None or g_back is None or _count(p_back) != n_p or _count(g_back) != n_g:
            return teds(pred_html, gt_html, structure_only=structure_only)
        rest = teds(p_html, g_html, structure_only=structure_only)
        if rest <= 0.0:  # clamped: the distance cannot be read back
            return teds(pred_html, gt_html, structure_only=structure_only)
        distance = (1.0 - rest) * max(n_p, n_g)
    return min(1.0, max(0.0, 1.0 - distance / n_full))


def _tree_nodes(rows: list[etree._Element]) -> int:
    """Nodes of these rows in the TEDS tree: a cell is one leaf whatever it holds (elements inside a cell
    are content tokens, counted in the denominator but not nodes)."""
    count = 0
    stack = list(rows)
    while stack:
        node = stack.pop()
        count += 1
        if node.tag not in _CELLS:
            stack.extend(c for c in node if isinstance(c.tag, str))
    return count


def _count(table: etree._Element) -> int:
    return sum(1 for _ in table.iterdescendants(etree.Element))
