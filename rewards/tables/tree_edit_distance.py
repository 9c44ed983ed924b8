"""Exact ordered tree edit distance (unit insert/delete, any rename matrix) for wide, shallow trees.

This is Zhang–Shasha's algorithm, rearranged so that numpy does the inner loops:

1. Pairs involving a leaf have a closed form. A one-node tree {v} against a tree T either maps v to some
   node x of T (cost ren(v, x), plus |T| - 1 inserts) or maps nothing (1 + |T|); as ren <= 1 the first
   always wins: td(v, T) = |T| - 1 + min over x in T of ren(v, x), and symmetrically. So only the
   keyroots that are inner nodes need forest-distance tables.
2. For one keyroot k1 of T1, the tables against *every* inner keyroot k2 of T2 are laid end to end as
   segments of one long column (each segment starts with its empty-forest entry), so a forest-distance row
   is one vector. With unit insert cost, row i is fd[i][j] = min over k <= j of (A[k] + j - k), where A
   holds the delete and rename/subtree candidates: a prefix-min scan, ``minimum.accumulate(A - pos) +
   pos``. Consecutive segments sit ``size(k1) + 1`` positions apart; as every A >= 0 and a segment's first
   entry holds at most size(k1), no minimum can leak from one segment into the next.
3. Keyroots of T1 with the same subtree shape are independent and run as one batch (the last, contiguous
   axis, so the scan is elementwise across the batch), level by level (a keyroot only needs the tree
   distances of keyroots inside it). Table rows of equal width form such a batch, so the Python loop runs
   over the rows of the largest keyroot plus one row per node of each distinct row shape.
4. Within one row, segment k2 may need td(i, j) for a node j that segment k2' (inside k2) computes in the
   same row; rows on k1's leftmost path therefore repeat once per nesting level of T2's keyroots.
5. Zhang–Shasha over the mirrored trees, or with the trees swapped, gives the same distance (unit costs;
   swapping transposes the rename matrix); the cheapest of the four is run (APTED's idea of choosing the
   decomposition path, reduced to leftmost vs rightmost).

Every value is a sum of unit costs and renames along an optimal edit script, so results equal a plain
APTED computation up to float rounding of the sums (positions stay below 2**24, so the ``pos`` shift
costs about 1e-11 per step; checked against apted to 1e-9 in the tests).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

_CHUNK_ELEMENTS = 1 << 20  # rows of the subtree-distance block prepared at once (bounds memory only)
_BATCH_ELEMENTS = 1 << 16  # a batch's row vector stays near 512 KB, in cache (results do not depend on it)
_STEP_US, _ELEMENT_US = 30.0, 0.02  # cost model (µs, 2-core VM): one Python row step, one table cell


@dataclass
class TreeShape:
    """A postorder tree (``lml[i]``: postorder index of node i's leftmost leaf; root last) and the
    Zhang–Shasha facts about it that the algorithm and its cost model need."""

    lml: list[int]
    kids: list[list[int]] = field(init=False)
    shape_id: list[int] = field(init=False)  # equal ids <=> identical subtree shapes
    keyroots: list[int] = field(init=False)  # inner keyroots (leftmost decomposition), in postorder
    right_keyroots: list[int] = field(init=False)  # inner keyroots of the mirrored tree (original ids)

    def __post_init__(self) -> None:
        lml = self.lml
        n = len(lml)
        kids: list[list[int]] = [[] for _ in lml]
        for i in range(n):
            j = i - 1
            while j >= lml[i]:
                kids[i].append(j)
                j = lml[j] - 1
            kids[i].reverse()
        self.kids = kids
        ids: dict[tuple[int, ...], int] = {}
        self.shape_id = []
        for i in range(n):
            self.shape_id.append(ids.setdefault(tuple(self.shape_id[c] for c in kids[i]), len(ids)))
        left, right = [n - 1], [n - 1]
        for i in range(n):
            left.extend(c for c in kids[i][1:] if kids[c])
            right.extend(c for c in kids[i][:-1] if kids[c])
        self.keyroots = sorted(set(left)) if kids[n - 1] else []
        self.right_keyroots = sorted(set(right)) if kids[n - 1] else []

    def size(self, i: int) -> int:
        return i - self.lml[i] + 1

    @cached_property
    def levels(self) -> dict[int, int]:
        """Nesting level of each inner keyroot: 0 if no inner keyroot lies below it, else 1 + the highest."""
        keyset = set(self.keyroots)
        below = [-1] * len(self.lml)  # highest level of an inner keyroot strictly inside node i (-1: none)
        level: dict[int, int] = {}
        for i in range(len(self.lml)):
            best = max((level[c] if c in keyset else below[c] for c in self.kids[i]), default=-1)
            below[i] = best
            if i in keyset:
                level[i] = best + 1
        return level

    def offsets(self, k: int) -> tuple[int, ...]:
        """lml(i) - lml(k) for the nodes i of the subtree of k, in postorder (0: on k's leftmost path)."""
        return tuple(self.lml[i] - self.lml[k] for i in range(self.lml[k], k + 1))

    def mirrored(self) -> tuple[TreeShape, np.ndarray]:
        """The tree with every node's children reversed, and the original node at each of its postorder
        positions (the mirror's postorder is the original's preorder, reversed)."""
        pre: list[int] = []
        stack = [len(self.lml) - 1]
        while stack:
            v = stack.pop()
            pre.append(v)
            stack.extend(reversed(self.kids[v]))
        order = pre[::-1]
        rank = {v: p for p, v in enumerate(order)}
        rightmost = list(range(len(self.lml)))
        for v in range(len(self.lml)):  # postorder: children first
            if self.kids[v]:
                rightmost[v] = rightmost[self.kids[v][-1]]
        return TreeShape([rank[rightmost[v]] for v in order]), np.asarray(order, dtype=np.intp)


def work(rows: TreeShape, cols: TreeShape, mirrored: bool = False) -> float:
    """Rough cost (µs) of running ``rows`` as T1 against ``cols`` as T2 (both mirrored, if asked)."""
    krows = rows.right_keyroots if mirrored else rows.keyroots
    kcols = cols.right_keyroots if mirrored else cols.keyroots
    distinct = {rows.shape_id[k]: rows.size(k) for k in krows}
    cells = sum(rows.size(k) for k in krows) * sum(cols.size(k) + 1 for k in kcols)
    return sum(distinct.values()) * _STEP_US + cells * _ELEMENT_US


def _orient(t1: TreeShape, t2: TreeShape, ren: np.ndarray):
    """The cheapest of (T1, T2), swapped or not, mirrored or not: same distance, less work."""
    cost, swap, mirror = min((work(a, b, m), s, m) for m in (False, True)
                             for s, (a, b) in enumerate(((t1, t2), (t2, t1))))
    if mirror:
        (t1, p1), (t2, p2) = t1.mirrored(), t2.mirrored()
        ren = ren[np.ix_(p1, p2)]
    return (t2, t1, np.ascontiguousarray(ren.T)) if swap else (t1, t2, ren)


def _subtree_min(ren: np.ndarray, tree: TreeShape, nodes: np.ndarray, axis: int) -> np.ndarray:
    """For each inner node v (``nodes``, postorder), the min of ``ren`` over the subtree of v along
    ``axis`` (0: rows are the tree's nodes, 1: columns are), as rows of the result. Built bottom-up from
    the children, so the work is O(size of ren) at any depth and ren is never copied whole."""
    at = {v: k for k, v in enumerate(nodes)}
    out = np.empty((len(nodes), ren.shape[1 - axis]))
    for k, v in enumerate(nodes):  # postorder: children are done before their parent
        leaves = [v] + [c for c in tree.kids[v] if c not in at]
        m = ren[leaves].min(axis=0) if axis == 0 else ren[:, leaves].min(axis=1)
        for c in tree.kids[v]:
            if c in at:
                np.minimum(m, out[at[c]], out=m)
        out[k] = m
    return out


def tree_edit_distance(t1: TreeShape | list[int], t2: TreeShape | list[int], ren: np.ndarray) -> float:
    """Tree edit distance between two ordered trees in postorder, with insert = delete = 1 and
    ``ren[i, j]`` in [0, 1] the cost of renaming node i of T1 into node j of T2."""
    t1 = t1 if isinstance(t1, TreeShape) else TreeShape(list(t1))
    t2 = t2 if isinstance(t2, TreeShape) else TreeShape(list(t2))
    ren = np.asarray(ren, dtype=np.float64)
    n1, n2 = len(t1.lml), len(t2.lml)
    if n1 == 1:
        return float(n2 - 1 + ren[0].min())
    if n2 == 1:
        return float(n1 - 1 + ren[:, 0].min())
    t1, t2, ren = _orient(t1, t2, ren)
    n1, n2 = len(t1.lml), len(t2.lml)
    lml1, lml2 = t1.lml, t2.lml
    size1 = np.arange(n1) - np.asarray(lml1) + 1
    size2 = np.arange(n2) - np.asarray(lml2) + 1
    inner1 = np.flatnonzero(size1 > 1)
    inner2 = np.flatnonzero(size2 > 1)

    # Closed-form tree distances (step 1), written into tdc (below); inner pairs start at +inf.
    below2 = _subtree_min(ren, t2, inner2, 1)  # (inner node of T2, T1 node)
    below1 = _subtree_min(ren, t1, inner1, 0)  # (inner node of T1, T2 node)

    # Column layout (step 2): every inner keyroot of T2 as a segment [empty forest, lml(k2) .. k2].
    cnode, clmp, cleft, bcount, segid = [], [], [], [], []
    src_col: dict[int, int] = {}
    for s, k in enumerate(t2.keyroots):
        b = len(cnode)
        cnode.append(n2), clmp.append(False), cleft.append(b), bcount.append(0), segid.append(s)
        for j in range(lml2[k], k + 1):
            on_path = lml2[j] == lml2[k]
            cnode.append(j)
            clmp.append(on_path)
            cleft.append(b if on_path else b + lml2[j] - lml2[k])  # the entry of node lml(j) - 1
            bcount.append(j - lml2[k] + 1)
            segid.append(s)
            if on_path and lml2[j] != j:
                src_col[j] = len(cnode) - 1
    ncol = len(cnode)
    cnode_a = np.asarray(cnode, dtype=np.intp)
    clmp_a = np.asarray(clmp)[:, None]
    cleft_a = np.asarray(cleft, dtype=np.intp)
    cprev = np.maximum(np.arange(ncol) - 1, 0)
    bcount_a = np.asarray(bcount, dtype=np.float64)
    dst = np.flatnonzero(np.isin(cnode_a, list(src_col)))  # every entry showing an inner node of T2
    src = np.asarray([src_col[j] for j in cnode_a[dst]], dtype=np.intp)
    # tdc[i, entry]: td of T1 node i against the entry's T2 node (step 1's closed forms to start with).
    cnode_clip = np.minimum(cnode_a, n2 - 1)
    tdc = np.take(ren, cnode_clip, axis=1)
    tdc[:, cnode_a == n2] = np.inf
    inner_entry = np.flatnonzero(size2[cnode_clip] > 1)
    inner_entry = inner_entry[cnode_a[inner_entry] < n2]
    rank2 = np.full(n2, -1)
    rank2[inner2] = np.arange(len(inner2))
    tdc[:, inner_entry] = (size2[cnode_a[inner_entry]] - 1) + below2[rank2[cnode_a[inner_entry]]].T
    tdc[inner1] = (size1[inner1, None] - 1) + below1[:, cnode_clip]
    tdc[np.ix_(inner1, inner_entry)] = np.inf
    tdc[np.ix_(inner1, np.flatnonzero(cnode_a == n2))] = np.inf
    passes = max(t2.levels.values()) + 1
    boundary = (cnode_a == n2)[:, None]

    # Row side (step 3): inner keyroots of T1 grouped by level, then by subtree shape.
    groups: dict[tuple, list[int]] = defaultdict(list)
    level1 = t1.levels
    per_batch = max(1, _BATCH_ELEMENTS // ncol)
    for k in t1.keyroots:
        key = (level1[k], t1.shape_id[k])
        groups[key].append(k)
        if len(groups[key]) == per_batch:  # full: close this batch, start the next under a new key
            groups[(level1[k], t1.shape_id[k], k)] = groups.pop(key)
    index = np.arange(ncol, dtype=np.float64)
    segid_a = np.asarray(segid, dtype=np.float64)
    for _, ks in sorted(groups.items(), key=lambda kv: kv[0][0]):
        shape = t1.offsets(ks[0])
        first = np.asarray([lml1[k] for k in ks], dtype=np.intp)
        batch = len(ks)
        pos = (index + segid_a * (len(shape) + 1))[:, None]
        shift = (pos[cleft_a] - pos - 1)[:, 0]  # from an entry to its lml(j) - 1 entry, minus one
        # Preallocated buffers: fresh large temporaries cost page faults on every row.
        slot = {r: n for n, r in enumerate(sorted({off for r, off in enumerate(shape, 1) if off and off != r - 1}))}
        store = np.empty((len(slot), ncol, batch))
        rows_a, rows_b, cand = (np.empty((ncol, batch)) for _ in range(3))
        chunk_rows = max(1, min(len(shape), _CHUNK_ELEMENTS // (ncol * batch)))
        chunk = np.empty((chunk_rows * batch, ncol))
        view, chunk_start = None, 0
        # Rows are kept as P = fd - pos + 1: "+1" is the delete candidate of the next row.
        prev, cur = rows_a, rows_b
        prev[:] = (bcount_a - pos[:, 0] + 1)[:, None]
        for r, off in enumerate(shape, 1):
            nodes = first + (r - 1)
            if off == 0:  # on k1's leftmost path: rename against the leftmost path of each segment
                lmp = prev[cprev] - 2 + np.where(boundary, np.inf, ren[nodes][:, cnode_clip].T)
                inner = size1[nodes[0]] > 1
                for _ in range(passes if inner else 1):
                    other = (bcount_a[cleft_a] - pos[:, 0])[:, None] + tdc[nodes].T
                    np.minimum(prev, np.where(clmp_a, lmp, other), out=cand)
                    np.minimum.accumulate(cand, axis=0, out=cur)
                    if inner:
                        tdc[nodes[:, None], dst] = (cur[src] + pos[src]).T
            else:
                if view is None or r - 1 >= chunk_start + chunk_rows:
                    chunk_start = r - 1
                    stop = min(chunk_start + chunk_rows, len(shape))
                    rows = (first[None, :] + np.arange(chunk_start, stop)[:, None]).ravel()
                    np.take(tdc, rows, axis=0, out=chunk[: len(rows)], mode="clip")
                    chunk[: len(rows)] += shift
                    view = chunk[: len(rows)].reshape(stop - chunk_start, batch, ncol)
                np.take(prev if off == r - 1 else store[slot[off]], cleft_a, axis=0, out=cand, mode="clip")
                cand += view[r - 1 - chunk_start].T
                np.minimum(cand, prev, out=cand)
                np.minimum.accumulate(cand, axis=0, out=cur)
            cur += 1
            if r in slot:
                store[slot[r]] = cur
            prev, cur = cur, prev
    return float(prev[-1, 0] - 1 + pos[-1, 0])
