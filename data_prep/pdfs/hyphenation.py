"""Join the lines of a text block, undoing line-end hyphenation where the word continues on the next line.

PyMuPDF's `TEXT_DEHYPHENATE` flag does not join lines in `get_text("dict")` output (checked with PyMuPDF
2.0: `mo-` / `mentum` stay two lines), so the labeller joins them itself. A line that ends in a letter and a
hyphen, followed by a line that starts with a lowercase letter, is one word broken in two. Whether the
hyphen belongs to the word is decided from the page's own words:
- the hyphenated form (`well-known`) appears elsewhere on the page, or the first part already holds a
  hyphen (`state-of-the-` / `art`): a compound, the hyphen stays;
- otherwise it was the typesetter's hyphen and goes (`mo-` / `mentum` → `momentum`).
"""
from __future__ import annotations

import re

_BROKEN = re.compile(r"([^\W\d_][\w-]*)-$")  # a word ending in a hyphen at the end of a line
_CONTINUES = re.compile(r"^([^\W\d_A-Z][\w-]*)")  # the next line starts with a lowercase word


def join_lines(lines: list[str], page_words: set[str] | frozenset[str] = frozenset()) -> str:
    """The block's lines as one paragraph string; `page_words`: the page's words, for the compound test."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not out:
            out = line
            continue
        broken, cont = _BROKEN.search(out), _CONTINUES.match(line)
        if broken and cont:
            head, tail = broken.group(1), cont.group(1)
            keep_hyphen = "-" in head or f"{head}-{tail}".lower() in page_words
            out = out[: broken.start()] + head + ("-" if keep_hyphen else "") + line
        else:
            out += " " + line
    return out


def word_set(words: list[tuple]) -> set[str]:
    """Lowercased words of a page (PyMuPDF word tuples), trailing punctuation stripped."""
    return {w[4].lower().strip(".,;:!?()[]\"'") for w in words}
