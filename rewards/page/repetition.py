"""Repetition loops: the degenerate output of a model that repeats a phrase, a line, a row or a cell.

Two detectors, over the whole page:

- **n-gram loop**: the page is cut into tokens (an HTML tag up to 32 characters, a word ``\\w+``, or one
  other non-space character). A unit of ``p`` tokens (1 ≤ p ≤ ``max_period``) repeated back to back
  ``copies`` times is a loop when ``copies ≥ min_copies`` and the repeated part (all copies but the first)
  holds at least ``min_redundant_tokens`` tokens. Units made only of punctuation (dot leaders, rules) are
  not loops. This catches word loops (``the the the …``), cell loops (``<td>0</td><td>0</td>…``) and row
  loops. The thresholds leave alone what real pages hold: ten zero cells in a row, a few empty rows.
- **line loop**: the same line (at least ``line_min_chars`` characters once tags are removed, with
  letters or digits in it) three or more times in a row, blank lines between allowed: the long-sentence
  loops that are too long for the n-gram detector.

Overlapping candidates are resolved greedily: most redundant first, the shortest unit on ties.
``no_repetition`` = 1 − (characters of redundant copies / characters of the page), in [0, 1].
All linear in the page: one tokenisation, then one vectorised comparison per period.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_TOKEN = re.compile(r"<[^<>\s][^<>]{0,30}>|\w+|[^\w\s]")
_PUNCT_ONLY = re.compile(r"[^\w<>]+")
_TAG = re.compile(r"<[^<>]*>")
_HAS_WORD = re.compile(r"\w")
_WINDOW = 16  # tokens of the pre-check window (see _has_repeated_window)


@dataclass(frozen=True, slots=True)
class RepetitionConfig:
    max_period: int = 64
    min_copies: int = 5
    min_redundant_tokens: int = 48
    line_min_copies: int = 3
    line_min_chars: int = 20


@dataclass(frozen=True, slots=True)
class Loop:
    start: int  # character span of the whole repeated region (first copy included)
    end: int
    unit: str  # one copy, as written in the page
    copies: int
    redundant_chars: int  # characters of copies 2..n


def find_loops(text: str, cfg: RepetitionConfig | None = None) -> list[Loop]:
    cfg = cfg or RepetitionConfig()
    candidates: list[Loop] = []
    tokens = _TOKEN.findall(text)
    runs = _runs(tokens, cfg)
    if runs:  # offsets only when there is something to report (rare): a second, slower pass
        spans = [m.span() for m in _TOKEN.finditer(text)]
        for _, p, s, copies in runs:
            if _PUNCT_ONLY.fullmatch("".join(tokens[s : s + p])):
                continue
            start, second, end = spans[s][0], spans[s + p][0], spans[s + copies * p - 1][1]
            candidates.append(Loop(start, end, text[start:second], copies, end - second))
    candidates.extend(_line_loops(text, cfg))
    chosen: list[Loop] = []
    for loop in sorted(candidates, key=lambda c: (-c.redundant_chars, len(c.unit))):
        if all(loop.end <= c.start or loop.start >= c.end for c in chosen):
            chosen.append(loop)
    return sorted(chosen, key=lambda c: c.start)


def _runs(tokens: list[str], cfg: RepetitionConfig) -> list[tuple[int, int, int, int]]:
    """(redundant tokens, period, first token, copies) of every back-to-back repetition over the thresholds."""
    n = len(tokens)
    if n < cfg.min_redundant_tokens + 1:
        return []
    # Token identity by hash: equal tokens hash equal; a 64-bit collision between different tokens is a
    # 2**-64 event per pair, and could at worst merge two near-identical loops.
    ids = np.fromiter(map(hash, tokens), dtype=np.int64, count=n)
    if not _has_repeated_window(ids, min(_WINDOW, cfg.min_redundant_tokens)):
        return []
    out: list[tuple[int, int, int, int]] = []
    padded = np.zeros(n + 1, dtype=np.int8)
    for p in range(1, min(cfg.max_period, n // 2) + 1):
        need_copies = max(cfg.min_copies, 1 - (-cfg.min_redundant_tokens // p))  # 1 + ceil(redundant / p)
        need_run = (need_copies - 1) * p  # positions i where token i equals token i + p, back to back
        eq = ids[p:] == ids[:-p]
        if int(np.count_nonzero(eq)) < need_run:
            continue
        # A run of need_run ≥ 2·block holds a whole aligned block: a cheap exact pre-check.
        block = need_run // 2
        whole = (len(eq) // block) * block
        if not eq[:whole].reshape(-1, block).all(axis=1).any():
            continue
        padded[1 : n - p + 1] = eq
        padded[n - p + 1 :] = 0
        edges = np.flatnonzero(np.diff(padded[: n - p + 2]))  # run starts and ends, alternating
        starts, ends = edges[0::2], edges[1::2]
        lengths = ends - starts
        for k in np.flatnonzero(lengths >= need_run).tolist():
            s, length = int(starts[k]), int(lengths[k])
            copies = (length + p) // p
            out.append(((copies - 1) * p, p, s, copies))
    return out


def _has_repeated_window(ids: np.ndarray, width: int) -> bool:
    """Does some run of ``width`` tokens occur twice? Every loop over the thresholds has one (a run of at
    least min_redundant_tokens ≥ width equal pairs at lag p makes the windows at i and i + p equal), and
    most pages have none, so this one vectorised pass spares them the scan over 64 periods. A hash
    collision only sends a page to that scan."""
    count = len(ids) - width + 1
    if count < 2:
        return False
    digest = np.zeros(count, dtype=np.uint64)
    tokens = ids.view(np.uint64)
    for k in range(width):  # polynomial hash of each window; uint64 arithmetic wraps, as wanted
        digest = digest * np.uint64(1099511628211) + tokens[k : k + count]
    return np.unique(digest).size < count


def _line_loops(text: str, cfg: RepetitionConfig) -> list[Loop]:
    loops: list[Loop] = []
    run_key, run_start, run_second, run_end, copies = "", 0, 0, 0, 0

    def flush() -> None:
        if run_key and copies >= cfg.line_min_copies:
            loops.append(Loop(run_start, run_end, text[run_start:run_second], copies, run_end - run_second))

    for m in re.finditer(r"[^\n]+", text):
        line = m.group(0).strip()
        if not line:
            continue
        bare = _TAG.sub("", line).strip()
        key = line if len(bare) >= cfg.line_min_chars and _HAS_WORD.search(bare) else ""
        if key and key == run_key:
            copies += 1
            run_second = m.start() if copies == 2 else run_second
            run_end = m.end()
            continue
        flush()
        run_key, run_start, run_second, run_end, copies = key, m.start(), m.end(), m.end(), 1
    flush()
    return loops


def no_repetition_score(text: str, loops: list[Loop]) -> float:
    if not text:
        return 1.0
    redundant = sum(loop.redundant_chars for loop in loops)
    return max(0.0, 1.0 - redundant / len(text))
