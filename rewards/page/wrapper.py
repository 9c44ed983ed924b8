"""Whole-output code fences: a page wrapped whole in ```` ```markdown ```` … ```` ``` ````.

Chat models often wrap their whole answer in a fence (```` ```markdown ````, ```` ```md ````,
```` ```html ````, ```` ```latex ````, or a bare ```` ``` ````). Read as Markdown, the page is then one code
block, and every table, formula and heading in it disappears: a scorer would report the content as
missing. The output convention forbids the wrapper, so it is a finding of its own (``output_wrapper``), and
the content inside is what gets scored.

``find_wrapper`` recognises the wrapper; ``blank_wrapper`` replaces its two fence lines with spaces, so
the page parses as its content while every character offset stays the same (findings still point into
the original output).

A wrapper is: the first non-blank line is a fence (at most three spaces of indent) whose info string is
empty or one of ``WRAPPER_INFO``, and either the last non-blank line is a bare closing fence of the same
character at least as long (closed), or no line after the opening closes it (cut off: the output stopped
inside the wrapper). A bare fence line in between that is not closing an inner code block (one opened
with an info string) means the fence closed early and prose follows: that is an ordinary code block, not
a wrapper.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

WRAPPER_INFO = ("markdown", "md", "html", "latex", "tex", "")
_FENCE_LINE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*?)[ \t\r]*$", re.M)  # \r: CRLF


@dataclass(frozen=True, slots=True)
class Wrapper:
    fence: str  # the opening fence characters, e.g. "```"
    info: str  # the info string as written ("markdown", "" for a bare fence)
    open_start: int  # the opening fence line [open_start, open_end), newline excluded
    open_end: int
    close_start: int  # the closing fence line; both -1 when the output was cut off inside the wrapper
    close_end: int

    @property
    def closed(self) -> bool:
        return self.close_start >= 0

    def describe(self) -> str:
        what = f"{self.fence}{self.info}" if self.info else f"a bare {self.fence} fence"
        if self.closed:
            return f"the whole output is wrapped in {what} … {self.fence}; its content is scored as the page"
        return f"the whole output is wrapped in {what}, never closed (cut off); its content is scored as the page"


def find_wrapper(text: str) -> Wrapper | None:
    """The whole-output fence of ``text``, or None."""
    first = len(text) - len(text.lstrip())
    line_start = text.rfind("\n", 0, first) + 1
    m = _FENCE_LINE.match(text, line_start)
    if m is None or m.start("fence") != first:
        return None
    fence, info = m.group("fence"), m.group("info")
    if info.lower() not in WRAPPER_INFO:
        return None
    char, size = fence[0], len(fence)
    inner_open = ""  # the fence of an inner code block that is open, if any
    last: re.Match[str] | None = None
    for f in _FENCE_LINE.finditer(text, m.end()):
        last = f
        other = f.group("fence")
        if inner_open:
            if other[0] == inner_open[0] and len(other) >= len(inner_open) and not f.group("info"):
                inner_open = ""
        elif f.group("info"):
            inner_open = other
        elif other[0] == char and len(other) >= size and text[f.end() :].strip():
            return None  # the fence closed early and more follows: an ordinary code block
    body_end = len(text.rstrip())
    if last is not None and last.end() >= body_end and not last.group("info") and not inner_open:
        other = last.group("fence")
        if other[0] == char and len(other) >= size:
            return Wrapper(fence, info, m.start(), m.end(), last.start(), last.end())
    return Wrapper(fence, info, m.start(), m.end(), -1, -1)


def blank_wrapper(text: str, wrapper: Wrapper) -> str:
    """``text`` with the wrapper's fence lines replaced by spaces (same length, same offsets)."""
    out = text[: wrapper.open_start] + " " * (wrapper.open_end - wrapper.open_start)
    if not wrapper.closed:
        return out + text[wrapper.open_end :]
    return (out + text[wrapper.open_end : wrapper.close_start] + " " * (wrapper.close_end - wrapper.close_start)
            + text[wrapper.close_end :])
