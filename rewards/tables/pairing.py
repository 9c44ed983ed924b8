"""Pairing of a page's predicted tables with its ground-truth tables.

The pairing is the one-to-one assignment that maximises the summed TEDS, the same rule as
``teds.teds_tables`` (so the page TEDS computed from these pairs equals ``teds_tables``): each table is
paired at most once, unpaired tables are the invented (pred) or missing (ground truth) ones. Exact by
dynamic programming over subsets of the smaller side when it has at most ``EXACT_LIMIT`` tables; beyond
that (a page with more than 12 tables on both sides) greedy, highest score first.
"""
from __future__ import annotations

EXACT_LIMIT = 12


def best_pairs(score: list[list[float]]) -> list[tuple[int, int]]:
    """(row, column) pairs of a one-to-one assignment maximising the summed score, sorted by row."""
    n_rows = len(score)
    n_cols = len(score[0]) if n_rows else 0
    if n_rows == 0 or n_cols == 0:
        return []
    if min(n_rows, n_cols) > EXACT_LIMIT:
        return _greedy(score)
    # A tiny bonus per pair: among equal sums, pair as many tables as possible (a pair scoring 0 is still
    # a better account of the page than two unpaired tables).
    score = [[s + 1e-9 for s in row] for row in score]
    transposed = n_cols > n_rows  # run the subset DP over the smaller side (the columns)
    if transposed:
        score = [list(col) for col in zip(*score)]
        n_rows, n_cols = n_cols, n_rows
    # best[mask]: the largest sum pairing rows 0..i-1 with the column set `mask` (columns unused allowed).
    neg = float("-inf")
    best = [neg] * (1 << n_cols)
    best[0] = 0.0
    choice: list[list[int]] = []  # per row: for each mask, the column taken (-1 = row left unpaired)
    for i in range(n_rows):
        new = best[:]
        took = [-1] * (1 << n_cols)
        for mask, value in enumerate(best):
            if value == neg:
                continue
            for j in range(n_cols):
                bit = 1 << j
                if not mask & bit and value + score[i][j] > new[mask | bit]:
                    new[mask | bit] = value + score[i][j]
                    took[mask | bit] = j
        best = new
        choice.append(took)
    mask = max(range(1 << n_cols), key=lambda m: best[m])
    pairs: list[tuple[int, int]] = []
    for i in range(n_rows - 1, -1, -1):
        j = choice[i][mask]
        if j >= 0:
            pairs.append((i, j))
            mask ^= 1 << j
    pairs = [(j, i) for i, j in pairs] if transposed else pairs
    return sorted(pairs)


def _greedy(score: list[list[float]]) -> list[tuple[int, int]]:
    cells = sorted(((s, i, j) for i, row in enumerate(score) for j, s in enumerate(row)), reverse=True)
    used_r: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for _, i, j in cells:
        if i not in used_r and j not in used_c:
            used_r.add(i)
            used_c.add(j)
            pairs.append((i, j))
    return sorted(pairs)
