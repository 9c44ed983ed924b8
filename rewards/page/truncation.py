"""Truncation: the output stops in the middle of a structure, or at the generation limit.

A page is truncated when any of these holds (each gives one reason, with where it is):
- its last block is left open: an HTML or LaTeX table, display math or a code fence that runs to the end, or
  inline math left open at the very end of the page;
- it ends inside a tag: ``<``, ``</`` or the start of a tag name (``…<t``, ``…</tab``), or a whole tag
  name with its attributes cut (``…<td colspan="2``); or it ends on an unescaped ``\\``;
- a repetition loop runs to the end of the output (a model that loops stops only at the token limit);
- the caller says generation hit the token limit (``hit_max_tokens``; the scorer reads it from a JSONL
  ``finish_reason`` of ``"length"`` or ``truncated: true``).
``no_truncation`` is 1.0 or 0.0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rewards.page.markdown_blocks import CODE, DISPLAY_MATH, HTML_TABLE, LATEX_TABLE, ParsedPage
from rewards.page.repetition import Loop

_OPEN_TAG_AT_END = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)?([^<>]*)$")
_ODD_BACKSLASHES_AT_END = re.compile(r"(?<!\\)(?:\\\\)*\\$")
_TAG_NAMES = tuple(
    "table thead tbody tfoot tr td th caption colgroup col b i u s em strong sub sup span div p br hr li ul ol"
    " code pre".split()
)
_KIND_NAMES = {HTML_TABLE: "<table>", LATEX_TABLE: "\\begin{tabular}", DISPLAY_MATH: "display math",
               CODE: "code fence"}


@dataclass(frozen=True, slots=True)
class TruncationReason:
    message: str
    start: int
    end: int


def find_truncation(page: ParsedPage, loops: list[Loop], *, hit_max_tokens: bool = False) -> list[TruncationReason]:
    text = page.text
    body = text.rstrip()
    end = len(body)
    reasons: list[TruncationReason] = []
    if hit_max_tokens:
        reasons.append(TruncationReason("generation stopped at the token limit", end, end))
    if page.blocks:
        last = page.blocks[-1]
        if last.unclosed and last.kind in _KIND_NAMES and last.end >= end:
            what = _KIND_NAMES[last.kind]
            reasons.append(TruncationReason(f"output ends inside an unclosed {what} opened at {last.start}", last.start, len(text)))
    if page.inline_math:
        f = page.inline_math[-1]
        if f.unclosed and f.end >= end:
            reasons.append(TruncationReason(f"output ends inside inline math opened at {f.start}", f.start, len(text)))
    tail = body[-200:]
    tag = _OPEN_TAG_AT_END.search(tail)
    if tag is not None and _cut_tag(tag):
        at = end - len(tail) + tag.start()
        reasons.append(TruncationReason(f"output ends in the middle of a tag: {tag.group(0)[:40]!r}", at, len(text)))
    elif _ODD_BACKSLASHES_AT_END.search(tail):
        reasons.append(TruncationReason("output ends on a dangling backslash", end - 1, len(text)))
    if loops and loops[-1].end >= end - 2:
        reasons.append(TruncationReason("a repetition loop runs to the end of the output", loops[-1].start, len(text)))
    return reasons


def _cut_tag(m: re.Match[str]) -> bool:
    """Is this `<…` at the end of the output a tag cut short (not a less-than sign in prose)?"""
    name, rest = (m.group(2) or "").lower(), m.group(3)
    if rest and not rest[0].isspace():
        return False
    if rest:  # attributes were being written: the name must be a whole tag name
        return name in _TAG_NAMES
    return any(t.startswith(name) for t in _TAG_NAMES)
