"""Text accuracy: 1 − normalized edit distance (NED) between the normalised text of two pages.

Normalisation (``normalize_text``), applied to both sides alike:
- ``scope="text"`` (the default, what ``score_page`` uses): the text blocks (headings, paragraphs, lists)
  and code blocks only. Tables and display math are left out: TEDS and the formula checks judge them, and
  keeping them here would count one table mistake twice. Inline math stays, as its LaTeX source without
  delimiters or spaces (``$x + 1$`` → ``x+1``), because it is part of the sentence.
  ``scope="all"``: everything, tables as their cell texts in reading order, display math as its source.
- Markup goes: heading ``#``s, list markers, ``**``/``__`` emphasis, HTML tags inside text.
- Unicode NFKC, then every run of whitespace becomes one space; case is kept.

NED = Levenshtein distance / the longer length (rapidfuzz's ``normalized_distance``), so it lies in [0, 1].
"""
from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import Levenshtein

from rewards.page.markdown_blocks import CODE, DISPLAY_MATH, HTML_TABLE, PIPE_TABLE, TEXT, Block, ParsedPage, parse_page

_HEADING_MARK = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*", re.M)
_LIST_MARK = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+", re.M)
_EMPHASIS = re.compile(r"\*\*|__")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*\b[^<>]*>")
_SPACE = re.compile(r"\s+")
_PIPE_DELIM_LINE = re.compile(r"^[ \t|:-]*$", re.M)


def _text_with_math(page: ParsedPage, start: int, end: int, inline: list[Block], k: int) -> tuple[str, int]:
    """text[start:end] with each inline formula replaced by its space-free source; returns (text, next k)."""
    parts: list[str] = []
    pos = start
    while k < len(inline) and inline[k].start < end:
        f = inline[k]
        if f.start >= pos:
            parts.append(page.text[pos : f.start])
            parts.append(" " + _SPACE.sub("", f.content) + " ")
            pos = f.end
        k += 1
    parts.append(page.text[pos:end])
    return "".join(parts), k


def normalize_text(page: ParsedPage | str, *, scope: str = "text") -> str:
    if not isinstance(page, ParsedPage):
        page = parse_page(page)
    if scope not in ("text", "all"):
        raise ValueError(f"scope must be 'text' or 'all', not {scope!r}")
    inline = list(page.inline_math)
    k = 0
    out: list[str] = []
    for b in page.blocks:
        while k < len(inline) and inline[k].start < b.start:
            k += 1
        if b.kind == TEXT:
            s, k = _text_with_math(page, b.start, b.end, inline, k)
            s = _HEADING_MARK.sub("", s)
            s = _LIST_MARK.sub("", s)
            out.append(_TAG.sub(" ", _EMPHASIS.sub("", s)))
        elif b.kind == CODE:
            out.append(b.content)
        elif scope == "all" and b.kind in (HTML_TABLE, PIPE_TABLE):
            s, k = _text_with_math(page, b.start, b.end, inline, k)
            s = _PIPE_DELIM_LINE.sub(" ", s) if b.kind == PIPE_TABLE else s
            out.append(_TAG.sub(" ", s).replace("|", " "))
        elif scope == "all" and b.kind == DISPLAY_MATH:
            out.append(_SPACE.sub("", b.content))
    joined = unicodedata.normalize("NFKC", " ".join(out))
    return _SPACE.sub(" ", joined).strip()


def ned(a: str, b: str) -> float:
    """Normalized Levenshtein distance in [0, 1]; 0 for two empty strings."""
    return float(Levenshtein.normalized_distance(a, b))


def text_accuracy(pred: ParsedPage | str, gt: ParsedPage | str, *, scope: str = "text") -> float | None:
    """1 − NED of the normalised texts; None when both are empty (nothing to judge)."""
    a, b = normalize_text(pred, scope=scope), normalize_text(gt, scope=scope)
    if not a and not b:
        return None
    return 1.0 - ned(a, b)


__all__ = ["normalize_text", "ned", "text_accuracy"]
