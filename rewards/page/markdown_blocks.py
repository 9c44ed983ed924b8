"""Split a page's Markdown (the output convention) into blocks, tolerant of broken model output.

Kinds: ``text`` (headings, paragraphs, lists; ``role`` says which), ``html_table``, ``pipe_table`` (GFM,
with or without leading pipes, at any indent, e.g. inside a list item), ``latex_table``
(``\\begin{tabular}`` … ``\\end{tabular}``, read by ``rewards.tables.latex_tabular``),
``display_math`` (``$$…$$``, ``\\[…\\]``), ``inline_math`` (``$…$``, ``\\(…\\)``; inside text blocks and
table cells) and ``code`` (``` or ~~~ fences). Every block carries its character span ``[start, end)`` in
the page, delimiters included, so a finding can say where it is.

Nothing raises and everything is linear in the page length: each scan moves forward, every regex is
bounded by the next ``<``/``>``/newline, and nested structures are tracked with counters, not recursion.

Unclosed structures, and where they stop (the ``unclosed`` flag is set on each):
- a code fence runs to the end of the page;
- display math stops at the first blank line (TeX rejects a paragraph break in math mode, so a blank line
  is where the formula is certainly over), else at the end of the page;
- an HTML table stops at the end of the page, at a blank line followed by something that is not a tag, or
  at a new top-level ``<table>`` opened outside any cell (tables nest only inside cells);
- a LaTeX table runs to its matching ``\\end{tabular}`` (nested ones counted), else to the end of the page;
- inline math stops at the end of its paragraph, table cell or pipe-table row. ``$`` follows pandoc: it
  opens only before a non-space and closes only after a non-space and not before a digit; an open ``$``
  followed by a digit that never closes is a currency sign (``$5``), not math, and is dropped (a ``\\(`` or
  ``\\[`` after it opens math as usual).
A closing ``\\)`` or ``\\]`` with no opening is recorded in ``ParsedPage.stray``.

A page wrapped whole in a code fence (```` ```markdown ```` … ```` ``` ````) is parsed as its content, the
fence lines blanked (``rewards.page.wrapper``; ``ParsedPage.wrapper`` says so).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from rewards.page.pipe_tables import pipe_table_html, pipe_table_rows, split_pipe_row  # noqa: F401 (re-exported)
from rewards.page.wrapper import Wrapper, blank_wrapper, find_wrapper

TEXT, HTML_TABLE, PIPE_TABLE, LATEX_TABLE = "text", "html_table", "pipe_table", "latex_table"
DISPLAY_MATH, INLINE_MATH, CODE = "display_math", "inline_math", "code"
TABLE_KINDS = (HTML_TABLE, PIPE_TABLE, LATEX_TABLE)
MATH_KINDS = (DISPLAY_MATH, INLINE_MATH)


@dataclass(frozen=True, slots=True)
class Block:
    kind: str
    content: str  # table: its source (tags included); math: without delimiters; code: body; text: as written
    start: int  # span of the whole block in the page, delimiters included
    end: int
    unclosed: bool = False
    delimiter: str = ""  # "$$", "\\[", "$", "\\(" for math; the fence ("```") for code
    role: str = ""  # text: "heading" | "list" | "paragraph"; code: the info string


@dataclass(frozen=True, slots=True)
class StrayDelimiter:
    delimiter: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ParsedPage:
    text: str
    blocks: tuple[Block, ...]  # top-level blocks in page order (inline math is not among them)
    inline_math: tuple[Block, ...]  # inline formulas, each inside a text or table block
    stray: tuple[StrayDelimiter, ...]  # closing math delimiters with no opening
    # A whole-output fence (```markdown … ```): its fence lines are blanked in ``text`` (offsets unchanged)
    # and the content parsed as the page; the wrapper itself is a format finding, not a code block.
    wrapper: Wrapper | None = None

    def of_kind(self, *kinds: str) -> list[Block]:
        return [b for b in self.all_blocks() if b.kind in kinds]

    def all_blocks(self) -> list[Block]:
        """Top-level blocks and inline math together, ordered by start (a container before its formulas)."""
        return sorted(self.blocks + self.inline_math, key=lambda b: (b.start, b.kind == INLINE_MATH))

    def formulas(self) -> list[Block]:
        return self.of_kind(DISPLAY_MATH, INLINE_MATH)

    def tables(self) -> list[Block]:
        return [b for b in self.blocks if b.kind in TABLE_KINDS]


# Openers of top-level blocks. `^` with re.M matches only at real line starts, even with a start position.
_OPENER = re.compile(
    r"(?P<fence>^[ \t]{0,3}(?:`{3,}|~{3,}))|(?P<dollars>\$\$)|(?P<bracket>\\\[)|(?P<table><table\b)"
    r"|(?P<tabular>\\begin\s*\{(?:tabular\*?|tabularx|longtable)\})"
    r"|(?P<delim>^[ \t]*\|?[ \t]*:?-+:?[ \t]*\|[ \t:|-]*$)|(?P<pipe>^[ \t]*\|)",
    re.M | re.I,
)
_DOLLARS_END = re.compile(r"\$\$|\n[ \t]*\n")
_BRACKET_END = re.compile(r"\\\]|\n[ \t]*\n")
# Table-level tags, and a blank line with all the whitespace after it (so the next check is O(1)).
_TABLE_TOKEN = re.compile(r"<(/?)(table|tr|td|th)\b[^<>]*>?|\n[ \t]*\n\s*", re.I)
_TABLE_CLOSE = re.compile(r"</table\b[^<>]*>?", re.I)
_TABLE_INTERRUPT = re.compile(r"<table\b|\n[ \t]*\n", re.I)
_DELIM_ROW = re.compile(r"[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)*[ \t]*:?-+:?[ \t]*\|?[ \t]*")
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]|$)")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
# Inline tokens: an escape pair (so `\\` and `\$` never open anything) and dollars. What ends an open
# inline formula early (a cell tag, a row's newline) is searched for only while one is open.
_INLINE_TOKEN = re.compile(r"\\[\\$()\[\]]|\\[^\n]|\$\$?")
_WRAPPER_HINT = re.compile(r"\s*(?:`{3}|~{3})")
_BOUNDARY = {"cell": re.compile(r"</?(?:td|th|tr|table)\b", re.I), "row": re.compile(r"\n"), "paragraph": None}


def as_text(md: object) -> str:
    """Whatever came in, as text: None is empty, bytes are UTF-8 (bad bytes replaced), the rest str()."""
    if md is None:
        return ""
    if isinstance(md, str):
        return md
    if isinstance(md, (bytes, bytearray)):
        return bytes(md).decode("utf-8", errors="replace")
    return str(md)


def _escaped(text: str, i: int) -> bool:
    """True when text[i] is preceded by an odd number of backslashes."""
    k = i - 1
    while k >= 0 and text[k] == "\\":
        k -= 1
    return (i - 1 - k) % 2 == 1


def _find_unescaped(pattern: re.Pattern[str], text: str, pos: int) -> re.Match[str] | None:
    while True:
        m = pattern.search(text, pos)
        if m is None or m.group(0)[0] == "\n" or not _escaped(text, m.start()):
            return m
        pos = m.start() + 1


def _line_end(text: str, pos: int) -> int:
    j = text.find("\n", pos)
    return len(text) if j < 0 else j


def _code_block(text: str, m: re.Match[str]) -> Block:
    fence = m.group("fence").strip()
    head_end = _line_end(text, m.end())
    info = text[m.end() : head_end].strip()
    close = re.compile(rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.M)
    c = close.search(text, head_end + 1) if head_end < len(text) else None
    body_start = min(head_end + 1, len(text))
    if c is None:
        return Block(CODE, text[body_start:], m.start(), len(text), True, fence, info)
    return Block(CODE, text[body_start : max(body_start, c.start() - 1)], m.start(), c.end(), False, fence, info)


def _display_math(text: str, m: re.Match[str], delimiter: str) -> Block:
    start, body = m.start(), m.end()
    c = _find_unescaped(_DOLLARS_END if delimiter == "$$" else _BRACKET_END, text, body)
    if c is None:
        return Block(DISPLAY_MATH, text[body:], start, len(text), True, delimiter)
    if c.group(0)[0] == "\n":  # blank line: the formula is over, unclosed
        return Block(DISPLAY_MATH, text[body : c.start()], start, c.start(), True, delimiter)
    return Block(DISPLAY_MATH, text[body : c.start()], start, c.end(), False, delimiter)


class _NextMatch:
    """The next match of a pattern at or after a position, for positions that only grow: each search
    result is reused until it is passed, so repeated questions cost linear time overall."""

    def __init__(self, pattern: re.Pattern[str], text: str) -> None:
        self.pattern, self.text = pattern, text
        self.searched_from, self.found = len(text) + 1, None

    def at_or_after(self, pos: int) -> re.Match[str] | None:
        if pos >= self.searched_from and (self.found is None or self.found.start() >= pos):
            return self.found
        self.searched_from, self.found = pos, self.pattern.search(self.text, pos)
        return self.found


def _html_table(text: str, start: int, closes: _NextMatch) -> Block:
    # Fast path, the usual case: the first </table> closes it, with no table or blank line before it.
    close = closes.at_or_after(start + 6)
    if close is not None and _TABLE_INTERRUPT.search(text, start + 6, close.start()) is None:
        return Block(HTML_TABLE, text[start : close.end()], start, close.end(), not close.group(0).endswith(">"))
    in_cell: list[bool] = []  # one entry per open table: is a cell of it open?
    pos = start
    while True:
        m = _TABLE_TOKEN.search(text, pos)
        if m is None:
            break
        pos = m.end()
        name = m.group(2)
        if name is None:  # blank line: a table's source goes on only if a tag comes next
            if pos < len(text) and text[pos] != "<":
                return Block(HTML_TABLE, text[start : m.start()], start, m.start(), True)
            continue
        name, closing = name.lower(), m.group(1) == "/"
        if name == "table" and not closing:
            if in_cell and not in_cell[-1]:  # a new table outside any cell: the open one was never closed
                return Block(HTML_TABLE, text[start : m.start()], start, m.start(), True)
            in_cell.append(False)
        elif name == "table":
            if in_cell:
                in_cell.pop()
            if not in_cell:
                complete = m.group(0).endswith(">")
                return Block(HTML_TABLE, text[start : m.end()], start, m.end(), not complete)
        elif in_cell:
            in_cell[-1] = name != "tr" and not closing
    return Block(HTML_TABLE, text[start:], start, len(text), True)


def _latex_table(text: str, m: re.Match[str]) -> Block:
    """``\\begin{tabular}`` to its matching ``\\end`` (nested tabulars counted), else to the end of the page."""
    env = re.compile(r"\\(begin|end)\s*\{" + re.escape(m.group(0)[m.group(0).index("{") + 1 : -1]) + r"\}")
    depth = 0
    for e in env.finditer(text, m.start()):
        depth += 1 if e.group(1) == "begin" else -1
        if depth == 0:
            return Block(LATEX_TABLE, text[m.start() : e.end()], m.start(), e.end())
    return Block(LATEX_TABLE, text[m.start() :], m.start(), len(text), True)


def _pipe_table(text: str, start: int) -> Block | None:
    """GFM table with leading pipes: a header row, a delimiter row, then rows until a blank line."""
    head_end = _line_end(text, start)
    if head_end >= len(text):
        return None
    delim_end = _line_end(text, head_end + 1)
    if not _DELIM_ROW.fullmatch(text, head_end + 1, delim_end):
        return None
    end = delim_end
    while end < len(text):
        nxt = _line_end(text, end + 1)
        line = text[end + 1 : nxt]
        if not line.strip() or "|" not in line:
            break
        end = nxt
    return Block(PIPE_TABLE, text[start:end], start, end)


def _scan_inline(text: str, a: int, b: int, boundary: str, inline: list[Block], stray: list[StrayDelimiter]) -> None:
    """Find inline math in text[a:b]. `boundary`: "paragraph" (only b ends math), "cell" (cell tags and b),
    "row" (newlines and b)."""
    mode = ""  # "", "$", "$$", "\\(", "\\["
    open_at = body_at = 0

    def close_unclosed(at: int) -> None:
        # An unclosed `$` followed by a digit is a currency sign, not math.
        if mode != "$" or not text[body_at : body_at + 1].isdigit():
            inline.append(Block(INLINE_MATH, text[body_at:at], open_at, at, True, mode))

    bound = _BOUNDARY[boundary]
    checked = a  # text[body_at:checked] holds no boundary
    for m in _INLINE_TOKEN.finditer(text, a, b):
        tok = m.group(0)
        if mode and bound is not None:
            hit = bound.search(text, max(body_at, checked), m.start())
            checked = m.start()
            if hit is not None:
                close_unclosed(hit.start())
                mode = ""
        # `$` opens before a non-space, and never right before a cell boundary (`$</td>` closes nothing)
        can_open = tok == "$" and m.end() < b and not text[m.end()].isspace() and text[m.end()] != "<"
        if mode == "":
            if tok in ("\\(", "\\[", "$$") or can_open:
                mode, open_at, body_at = tok, m.start(), m.end()
            elif tok in ("\\)", "\\]"):
                stray.append(StrayDelimiter(tok, m.start(), m.end()))
        elif mode == "$" and tok == "$" and (text[m.start() - 1].isspace() or text[m.end() : m.end() + 1].isdigit()):
            # pandoc's rule: no closing `$` after a space or before a digit. If the open `$` was a currency
            # sign (`$5 … $x$`), this one may open real math instead.
            if can_open and text[body_at : body_at + 1].isdigit():
                open_at, body_at = m.start(), m.end()
        elif mode == "$" and tok in ("\\(", "\\[") and text[body_at : body_at + 1].isdigit():
            mode, open_at, body_at = tok, m.start(), m.end()  # `$5 … \(x\)`: the `$` was a currency sign
        elif (
            (mode == "$" and tok == "$")
            or (mode == "$$" and tok == "$$")
            or (mode == "\\(" and tok == "\\)")
            or (mode == "\\[" and tok == "\\]")
        ):
            inline.append(Block(INLINE_MATH, text[body_at : m.start()], open_at, m.end(), False, mode))
            mode = ""
    if mode:
        hit = bound.search(text, max(body_at, checked), b) if bound is not None else None
        close_unclosed(hit.start() if hit is not None else b)


def _emit_text(text: str, a: int, b: int, blocks: list[Block], inline: list[Block], stray: list[StrayDelimiter]) -> None:
    """Split text[a:b] into headings and paragraphs (a paragraph that starts with a list marker is a list)."""
    para_start, para_end, role = -1, -1, ""

    def flush() -> None:
        nonlocal para_start
        if para_start >= 0:
            blocks.append(Block(TEXT, text[para_start:para_end], para_start, para_end, role=role))
            _scan_inline(text, para_start, para_end, "paragraph", inline, stray)
            para_start = -1

    i = a
    while i < b:
        j = text.find("\n", i, b)
        j = b if j < 0 else j
        stripped_left = len(text[i:j]) - len(text[i:j].lstrip())
        line_end = i + len(text[i:j].rstrip())
        if line_end <= i + stripped_left:  # blank line
            flush()
        elif _HEADING.match(text, i, j):
            flush()
            para_start, para_end, role = i + stripped_left, line_end, "heading"
            flush()
        else:
            is_item = _LIST_ITEM.match(text, i, j) is not None
            if para_start >= 0 and is_item and role != "list":  # a list may interrupt a paragraph
                flush()
            if para_start < 0:
                para_start, role = i + stripped_left, "list" if is_item else "paragraph"
            para_end = line_end
        i = j + 1
    flush()


def parse_page(md: object) -> ParsedPage:
    """Parse a page once; every reward reads this. Never raises."""
    text = as_text(md)
    wrapper = find_wrapper(text) if _WRAPPER_HINT.match(text) else None
    if wrapper is not None:
        text = blank_wrapper(text, wrapper)
    blocks: list[Block] = []
    inline: list[Block] = []
    stray: list[StrayDelimiter] = []
    pos = text_from = 0
    closes = _NextMatch(_TABLE_CLOSE, text)
    while True:
        m = _OPENER.search(text, pos)
        if m is None:
            break
        kind = m.lastgroup
        block: Block | None = None
        if kind == "fence":
            block = _code_block(text, m)
        elif kind in ("dollars", "bracket") and not _escaped(text, m.start()):
            block = _display_math(text, m, "$$" if kind == "dollars" else "\\[")
        elif kind == "table":
            block = _html_table(text, m.start(), closes)
        elif kind == "pipe":
            block = _pipe_table(text, m.start())
        elif kind == "tabular" and not _escaped(text, m.start()):
            block = _latex_table(text, m)
        elif kind == "delim":  # a delimiter row: the table's header is the line before (no leading pipe)
            head = text.rfind("\n", 0, max(0, m.start() - 1)) + 1
            if m.start() > 0 and head >= text_from and "|" in text[head : m.start()]:
                block = _pipe_table(text, head)
            elif text[m.start() : m.end()].lstrip().startswith("|"):
                block = _pipe_table(text, m.start())
        if block is None:
            pos = m.end()
            continue
        _emit_text(text, text_from, block.start, blocks, inline, stray)
        blocks.append(block)
        if block.kind == HTML_TABLE:
            _scan_inline(text, block.start, block.end, "cell", inline, stray)
        elif block.kind in (PIPE_TABLE, LATEX_TABLE):
            _scan_inline(text, block.start, block.end, "row", inline, stray)
        pos = text_from = max(block.end, m.end())
    _emit_text(text, text_from, len(text), blocks, inline, stray)
    return ParsedPage(text, tuple(blocks), tuple(sorted(inline, key=lambda b: b.start)), tuple(stray), wrapper)


def parse_blocks(md: object) -> list[Block]:
    """Every block of a page, inline math included, in page order (a container before its formulas)."""
    return parse_page(md).all_blocks()
