"""Closure of everything that is not a table: HTML tags, math delimiters and code fences.

Tables have their own closure and grid checks (``table_structure.check_table``); this module looks at the
rest of the page. One *construct* is: an HTML element opened in text or inside a table cell (HTML element
names only, so ``a <b> c`` with a stray letter is never a tag: it is a tag only when the name is an HTML
element name and it ends with ``>``), a formula (inline or display), a code fence, or a closing
delimiter/tag with no opening. An *issue* is a construct left open, or a closing one with nothing to
close. Table tags (``<tr>``, ``<td>``, ``</table>`` …) outside any table are issues too.

Not issues: void elements (``<br>``, ``<hr>``, ``<img>`` …), self-closing ``<x/>``, and the elements whose
end tag HTML lets you omit (``p``, ``li``, ``dt``, ``dd``, ``option``). Tags inside math or code are text.

``tag_closure`` = 1 − issues / constructs (1.0 when the page has no constructs), in [0, 1].
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rewards.page.markdown_blocks import CODE, DISPLAY_MATH, HTML_TABLE, PIPE_TABLE, TEXT, ParsedPage

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^<>]*>")
# Inside a table its own tags are check_table's business: skip them in the regex, not in Python.
_NON_TABLE_TAG = re.compile(r"<(/?)((?!(?:table|thead|tbody|tfoot|tr|td|th|caption|colgroup)\b)[A-Za-z][A-Za-z0-9]*)\b[^<>]*>", re.I)
_TABLE_TAGS = frozenset("table thead tbody tfoot tr td th caption colgroup".split())
_VOID = frozenset("br hr img wbr col input meta link area base source embed param track".split())
_OPTIONAL_END = frozenset("p li dt dd option rt rp".split())
_ELEMENTS = frozenset(
    """a abbr address article aside b bdi bdo big blockquote center cite code data dd del details dfn div dl dt
    em figcaption figure font footer h1 h2 h3 h4 h5 h6 header i ins kbd label legend li main mark nav ol p pre
    q s samp section small span strike strong sub summary sup tt u ul var""".split()
)


@dataclass(frozen=True, slots=True)
class ClosureIssue:
    message: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ClosureReport:
    constructs: int
    issues: tuple[ClosureIssue, ...]

    @property
    def score(self) -> float:
        if self.constructs == 0:
            return 1.0
        return max(0.0, 1.0 - len(self.issues) / self.constructs)


_CLOSER = {"$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]"}


def check_closure(page: ParsedPage) -> ClosureReport:
    issues: list[ClosureIssue] = []
    constructs = 0
    for b in page.blocks:
        if b.kind == CODE:
            constructs += 1
            if b.unclosed:
                issues.append(ClosureIssue(f"code fence {b.delimiter} is never closed", b.start, b.end))
        elif b.kind == DISPLAY_MATH:
            constructs += 1
            if b.unclosed:
                closer = _CLOSER.get(b.delimiter, b.delimiter)
                issues.append(ClosureIssue(f"display math {b.delimiter} has no closing {closer}", b.start, b.end))
    for f in page.inline_math:
        constructs += 1
        if f.unclosed:
            closer = _CLOSER.get(f.delimiter, f.delimiter)
            issues.append(ClosureIssue(f"inline math {f.delimiter} has no closing {closer}", f.start, f.end))
    for s in page.stray:
        constructs += 1
        issues.append(ClosureIssue(f"closing {s.delimiter} with no opening", s.start, s.end))
    n_tags, tag_issues = _html_tags(page)
    return ClosureReport(constructs + n_tags, tuple(sorted(issues + tag_issues, key=lambda i: i.start)))


def _html_tags(page: ParsedPage) -> tuple[int, list[ClosureIssue]]:
    text, inline = page.text, page.inline_math
    stack: list[tuple[str, int, int]] = []  # (name, start, end) of open elements
    open_count: dict[str, int] = {}  # name -> how many on the stack (keeps a stray close O(1))
    issues: list[ClosureIssue] = []
    constructs = 0
    k = 0
    for b in page.blocks:
        if b.kind not in (TEXT, HTML_TABLE, PIPE_TABLE):
            continue
        in_table = b.kind == HTML_TABLE
        for m in (_NON_TABLE_TAG if in_table else _TAG).finditer(text, b.start, b.end):
            while k < len(inline) and inline[k].end <= m.start():
                k += 1
            if k < len(inline) and inline[k].start <= m.start():
                continue  # inside a formula: text, not a tag
            closing, name = m.group(1) == "/", m.group(2).lower()
            if name in _TABLE_TAGS:
                if not in_table:
                    constructs += 1
                    issues.append(ClosureIssue(f"table tag {m.group(0)} outside any <table>", m.start(), m.end()))
                continue
            if name not in _ELEMENTS or name in _VOID or m.group(0).endswith("/>"):
                continue
            if not closing:
                constructs += 1
                stack.append((name, m.start(), m.end()))
                open_count[name] = open_count.get(name, 0) + 1
                continue
            if not open_count.get(name):
                constructs += 1
                issues.append(ClosureIssue(f"closing </{name}> with no opening <{name}>", m.start(), m.end()))
                continue
            while stack:
                open_name, s, e = stack.pop()
                open_count[open_name] -= 1
                if open_name == name:
                    break
                if open_name not in _OPTIONAL_END:
                    issues.append(ClosureIssue(f"<{open_name}> is never closed", s, e))
    issues.extend(ClosureIssue(f"<{name}> is never closed", s, e) for name, s, e in stack if name not in _OPTIONAL_END)
    return constructs, issues
