"""LaTeX tables (``\\begin{tabular}`` … ``\\end{tabular}``) read as tables, with their spans.

Several OCR systems write tables in LaTeX. ``tabular_html`` turns one into the output convention's HTML
(``<table><tr><td colspan=… rowspan=…>``), so every table check and TEDS reads it like any other table:

- rows end at ``\\\\`` (optionally ``\\\\[2pt]``) or ``\\tabularnewline``; cells are split at ``&``; both
  only outside braces and never when escaped (``\\&`` is a literal ampersand);
- rules are dropped: ``\\hline``, ``\\cline{…}``, ``\\toprule``, ``\\midrule``, ``\\bottomrule``,
  ``\\cmidrule(…){…}``; a row with nothing but rules (the one after the last ``\\\\``) is no row;
- ``\\multicolumn{n}{spec}{content}`` is a cell with ``colspan=n``; ``\\multirow{n}[…]{width}[…]{content}``
  one with ``rowspan=n``; the two may nest. LaTeX needs an (empty) cell written below a multirow in each
  row it covers; that placeholder is dropped, as HTML has no cell there. A negative count
  (``\\multirow{-2}…``: the text sits in the last row it covers) spans the rows above, ending here;
- cell text: the content of ``\\textbf``/``\\textit``/``\\emph``/``\\text``/``\\textrm``/``\\mbox``/
  ``\\makecell``-style wrappers is kept without the command; ``\\%``, ``\\&``, ``\\_``, ``\\#``, ``\\$``
  become the character; ``~`` a space; inline math stays as written.

Never raises; linear in the source (one scan per level; span bookkeeping is bounded by ``MAX_COLUMNS`` and
``MAX_MOVED_SPAN``).
"""
from __future__ import annotations

import re
from html import escape

ENVIRONMENTS = ("tabular", "tabular*", "tabularx", "longtable")
MAX_COLUMNS = 4096  # the grid checks' bound on columns too (rewards.tables.grid)
MAX_MOVED_SPAN = 256  # a bottom-anchored \multirow{-n} is moved up only this far (real ones span a few rows)
_BEGIN = re.compile(r"\\begin\s*\{(tabular\*?|tabularx|longtable)\}")
_RULE = re.compile(r"\\(?:hline|toprule|midrule|bottomrule|endhead|endfirsthead|endfoot|endlastfoot)\b"
                   r"|\\(?:cline|cmidrule)(?:\([^)]*\))?\{[^}]*\}|\\(?:addlinespace|noalign)(?:\[[^\]]*\])?")
_WRAPPERS = re.compile(r"\\(?:textbf|textit|emph|text|textrm|textsf|mbox|underline|makecell|shortstack|"
                       r"thead|bfseries|itshape)\s*(?:\[[^\]]*\])?\s*\{")
_ESCAPES = {"\\%": "%", "\\&": "&", "\\_": "_", "\\#": "#", "\\$": "$", "~": " "}
_ESCAPE = re.compile(r"\\[%&_#$]|~")
_SPACE = re.compile(r"\s+")


def _group(text: str, pos: int) -> tuple[str, int] | None:
    """The brace group starting at ``pos`` (spaces skipped): (its content, the position after it)."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text) or text[pos] != "{":
        return None
    depth = 0
    i = pos
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[pos + 1 : i], i + 1
        i += 1
    return text[pos + 1 :], len(text)


def _optional(text: str, pos: int) -> int:
    """Skip one ``[…]`` optional argument (and spaces) at ``pos``."""
    j = pos
    while j < len(text) and text[j].isspace():
        j += 1
    if j < len(text) and text[j] == "[":
        end = text.find("]", j)
        return len(text) if end < 0 else end + 1
    return pos


def _split_top(text: str, separator: re.Pattern[str]) -> list[str]:
    """``text`` split at matches of ``separator`` outside braces (escaped characters never split)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and not separator.match(text, i):
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            m = separator.match(text, i)
            if m is not None:
                parts.append(text[start:i])
                start = i = m.end()
                continue
        i += 1
    parts.append(text[start:])
    return parts


_ROW_END = re.compile(r"\\\\(?:\s*\[[^\]]*\])?|\\tabularnewline\b")
_CELL_END = re.compile(r"&")


def _count(text: str) -> int:
    m = re.match(r"\s*(-?\d+)", text)
    return int(m.group(1)) if m else 1


def _clean_text(text: str) -> str:
    # Unwrap formatting commands, innermost last: each pass removes one command and its braces.
    for _ in range(8):
        m = _WRAPPERS.search(text)
        if m is None:
            break
        group = _group(text, m.end() - 1)
        inner, end = group if group is not None else ("", m.end())
        text = text[: m.start()] + inner + text[end:]
    text = _ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], text)
    return _SPACE.sub(" ", text).strip()


def _cell(source: str) -> tuple[str, int, int]:
    """(text, colspan, rowspan) of one cell's source; rowspan is negative for ``\\multirow{-n}``."""
    text, colspan, rowspan = source.strip(), 1, 1
    for _ in range(4):  # \multicolumn{2}{c}{\multirow{3}{*}{x}} nests
        m = re.match(r"\\(multicolumn|multirow)\b", text)
        if m is None:
            break
        first = _group(text, m.end())
        if first is None:
            break
        if m.group(1) == "multicolumn":
            second = _group(text, first[1])
            third = _group(text, second[1]) if second is not None else None
            if third is None:
                break
            colspan, text = max(1, _count(first[0])), third[0].strip()
        else:
            pos = _optional(text, first[1])
            second = _group(text, pos)  # width (* or a length)
            if second is None:
                break
            third = _group(text, _optional(text, second[1]))
            if third is None:
                break
            rowspan, text = _count(first[0]) or 1, third[0].strip()
    return _clean_text(text), colspan, rowspan


def tabular_body(source: str) -> str:
    """The body of the first tabular of ``source`` (column spec and ``\\end`` left out)."""
    m = _BEGIN.search(source)
    if m is None:
        return source
    pos = m.end()
    if m.group(1) in ("tabular*", "tabularx"):  # {width} comes before the column spec
        group = _group(source, _optional(source, pos))
        pos = group[1] if group is not None else pos
    pos = _optional(source, pos)
    spec = _group(source, pos)
    pos = spec[1] if spec is not None else pos
    end = re.search(r"\\end\s*\{" + re.escape(m.group(1)) + r"\}", source[pos:])
    return source[pos : pos + end.start()] if end is not None else source[pos:]


def tabular_rows(source: str) -> list[list[tuple[str, int, int]]]:
    """Rows of (text, colspan, rowspan) cells as HTML would hold them (placeholders under multirows gone)."""
    rows: list[list[tuple[int, list]]] = []  # per row: [col, [text, colspan, rowspan]] entries
    covered: dict[int, int] = {}  # column -> rows still covered by a multirow above
    for raw in _split_top(tabular_body(source), _ROW_END):
        raw = _RULE.sub(" ", raw)
        if not raw.strip():
            continue
        col, row = 0, []
        for piece in _split_top(raw, _CELL_END):
            text, colspan, rowspan = _cell(piece)
            if covered.get(col, 0) > 0 and not text:
                col += colspan  # the placeholder LaTeX needs under a multirow
                continue
            if -MAX_MOVED_SPAN <= rowspan < -1 and len(rows) >= -rowspan - 1:
                top = len(rows) + rowspan + 1  # \multirow{-n}: spans up from here
                if _move_up(rows, top, col, [text, colspan, -rowspan]):
                    col += colspan
                    continue
            row.append((col, [text, colspan, max(1, rowspan)]))
            if rowspan > 1:  # bounded: a \multicolumn{10**9} must not cost a loop of that length
                for c in range(col, col + min(colspan, MAX_COLUMNS)):
                    covered[c] = rowspan
            col += colspan
        rows.append(row)
        covered = {c: n - 1 for c, n in covered.items() if n > 1}
    return [[tuple(cell) for _, cell in row] for row in rows]


def _move_up(rows: list[list[tuple[int, list]]], top: int, col: int, cell: list) -> bool:
    """Put a bottom-anchored multirow in row ``top`` where an empty cell at ``col`` waits; drop the empty
    placeholders at ``col`` in the rows between."""
    target = next((entry for entry in rows[top] if entry[0] == col and not entry[1][0]), None)
    if target is None:
        return False
    target[1][:] = cell
    for r in range(top + 1, len(rows)):
        rows[r][:] = [e for e in rows[r] if not (e[0] == col and not e[1][0])]
    return True


def tabular_html(source: str) -> str:
    """The first tabular of ``source`` as ``<table><tr><td …>`` HTML."""
    out = ["<table>"]
    for row in tabular_rows(source):
        out.append("<tr>")
        for text, colspan, rowspan in row:
            attrs = (f' colspan="{colspan}"' if colspan > 1 else "") + (f' rowspan="{rowspan}"' if rowspan > 1 else "")
            out.append(f"<td{attrs}>{escape(text, quote=False)}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)
