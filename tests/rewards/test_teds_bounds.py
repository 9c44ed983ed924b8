"""rewards.tables.teds: the two bounds on work, pinned in value on small inputs with lowered limits.

Both bounds only act on adversarial sizes (test_teds.py checks those return in bounded time); here the
limits are lowered so that hand-sized tables cross them, and the score says exactly where the cut fell:
- cell contents are halved to a common length while the Levenshtein work estimate exceeds
  ``MAX_LEVENSHTEIN_WORK`` (estimate: ``sum(len_a // 64 + 1) * sum(len_b + 1)`` over the distinct cells);
- both trees are cut to a common preorder prefix while the tree-distance work estimate exceeds ``MAX_WORK``,
  each cut keeping ``sqrt(MAX_WORK / estimate)`` of the nodes, clamped to [0.3, 0.9], down to 16 nodes.
"""
from __future__ import annotations


import pytest

from rewards.tables import teds as teds_module
from rewards.tables.teds import teds
from teds_reference import load_reference


ref = load_reference("apted_teds")
WRAP = "<html><body>{}</body></html>"


def _table(rows: list[list[str]]) -> str:
    return "<table>" + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</table>"


# ---------------------------------------------------------------- the Levenshtein work cap

# One cell each side, 129 characters, differing in the first one only: cut to a common length c, the cell
# costs 1/c (129 uncut), so TEDS = 1 - (1/c)/2 (two elements: tr, td) tells which c the cap chose.
# Work estimate at length c: (c // 64 + 1) * (c + 1): 3 * 130 = 390 uncut, then 2 * 65 = 130 at 64,
# 1 * 33 = 33 at 32, 17 at 16, ..., 2 at 1 (the floor: never cut below one character).
# 129 is chosen so that 129 // 64, 129 // 65 and 129 / 64 all differ; each limit sits on or next to an estimate.
LONG_PRED = _table([["a" * 129]])
LONG_GT = _table([["b" + "a" * 128]])


@pytest.mark.parametrize(("max_work", "length"), [
    (390, 129),  # the estimate equals the limit: no cut
    (389, 64),  # one over: halved once (130 fits)
    (130, 64),  # halved once, and 130 fits exactly
    (129, 32),  # 130 does not fit: halved again
    (33, 32),  # 33 fits exactly
    (32, 16),
    (1, 1),  # nothing fits: cut down to one character, not to nothing
])
def test_cell_contents_are_halved_to_a_common_length_until_the_levenshtein_work_fits(
        monkeypatch: pytest.MonkeyPatch, max_work: int, length: int) -> None:
    monkeypatch.setattr(teds_module, "MAX_LEVENSHTEIN_WORK", max_work)
    assert teds(LONG_PRED, LONG_GT) == pytest.approx(1 - (1 / length) / 2, abs=1e-12)


# ---------------------------------------------------------------- the tree-distance work cut

def _rows(n_rows: int, last_row: int | None = None) -> tuple[list[list[str]], list[list[str]]]:
    """Ground truth and prediction: n_rows rows of 4 cells (an extra row of last_row cells), one cell per
    row changed by a different amount, so that prefixes of different sizes score differently."""
    gt = [[f"r{i}c{j}" for j in range(4)] for i in range(n_rows)]
    if last_row is not None:
        gt.append([f"r{n_rows}c{j}" for j in range(last_row)])
    pred = [row[:] for row in gt]
    for i, row in enumerate(pred):
        if row:
            row[i % len(row)] += "x" * (1 + i % 3)
    return pred, gt


def _prefix(rows: list[list[str]], size: int) -> list[list[str]]:
    """The rows of the table's first `size` nodes in preorder (table, tr, td, td, …, tr, …)."""
    out, left = [], size - 1
    for row in rows:
        if left <= 0:
            break
        out.append(row[:left - 1])
        left -= 1 + len(row)
    return out


def _nodes_product(cheap_mirrored: bool):
    """A stand-in work estimate: the product of the trees' sizes, 7 more in the orientations the engine
    would not choose (so the estimate that counts is the cheapest orientation's)."""
    def estimate(rows, cols, mirrored):
        return len(rows.lml) * len(cols.lml) + (0 if mirrored == cheap_mirrored else 7)
    return estimate


# 11 rows of 4 cells: 56 nodes, estimate 56 * 56 = 3136 uncut. A cut keeps int(limit * f) nodes with
# f = min(0.9, max(0.3, sqrt(MAX_WORK / estimate))); it stops when the estimate fits or at 16 nodes or fewer.
@pytest.mark.parametrize(("n_rows", "last_row", "max_work", "cheap_mirrored", "kept"), [
    (11, None, 3136, False, 56),  # fits exactly: no cut
    (11, None, 3136, True, 56),  # the same when the mirrored orientation is the cheap one
    (11, None, 3135, False, 50),  # just over: f is clamped to 0.9, int(50.4) = 50 (2500 fits)
    (11, None, 1128, False, 33),  # f = sqrt(1128 / 3136) = 0.5997: int(33.59) = 33 (1089 fits)
    (11, None, 0, False, 16),  # nothing fits: f clamped to 0.3, int(16.8) = 16, and 16 nodes is the floor
    (11, 1, 0, False, 5),  # 58 nodes: int(17.4) = 17 is above the floor, so once more: int(5.1) = 5
])
def test_trees_are_cut_to_a_common_preorder_prefix_until_the_work_estimate_fits(
        monkeypatch: pytest.MonkeyPatch, n_rows: int, last_row: int | None, max_work: int,
        cheap_mirrored: bool, kept: int) -> None:
    pred, gt = _rows(n_rows, last_row)
    monkeypatch.setattr(teds_module, "work", _nodes_product(cheap_mirrored))
    monkeypatch.setattr(teds_module, "MAX_WORK", max_work)
    want = ref.reference_teds(WRAP.format(_table(_prefix(pred, kept))), WRAP.format(_table(_prefix(gt, kept))))
    assert teds(_table(pred), _table(gt)) == pytest.approx(want, abs=1e-9)


# ---------------------------------------------------------------- tag codes

def test_a_cell_with_more_distinct_tags_than_private_use_characters_scores_without_raising() -> None:
    # 33,000 distinct inner elements: 66,000 distinct tag tokens, more than the 65,534 private-use codes.
    cell = "".join(f"<t{i}></t{i}>" for i in range(33_000))
    # No token matches "x": the cell costs 1; n = tr + td + 33,000 inner elements.
    assert teds(f"<table><tr><td>{cell}</td></tr></table>", "<table><tr><td>x</td></tr></table>") == \
        pytest.approx(1 - 1 / 33_002, abs=1e-12)


def test_tags_past_the_free_private_use_characters_share_the_last_one() -> None:
    # Cell text holding every private-use character but U+100000 and U+100001 leaves two codes for tags:
    # the prediction's <b> and </b> take them (its tree is encoded first), the ground truth's <i> and </i>
    # share U+10FFFD. 65,535 tokens each side, 2 differ (1 if there were a single free code).
    text = "".join(chr(c) for c in range(0x100002, 0x10FFFE))
    pred, gt = (f"<table><tr><td>{text}<{t}>x</{t}></td></tr></table>" for t in ("b", "i"))
    assert teds(pred, gt) == pytest.approx(1 - (2 / 65_535) / 3, abs=1e-12)  # n = tr + td + b
    # Past the two codes, <i> and <u> are not told apart: an approximation that only such input meets.
    pred, gt = (f"<table><tr><td>{text}<b></b><{t}></{t}></td></tr></table>" for t in ("i", "u"))
    assert teds(pred, gt) == 1.0
