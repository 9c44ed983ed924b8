"""Pipe (GFM) tables: their rows and cells, and the same table as the output convention's HTML."""
from __future__ import annotations

import re
from bisect import bisect_right
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rewards.page.markdown_blocks import Block


def split_pipe_row(line: str) -> list[str]:
    """Cells of one pipe-table row: `|` splits except when escaped or inside `$…$` or backticks; an
    escaped ``\\|`` is a literal pipe in the cell (GFM)."""
    if "\\" not in line and "$" not in line and "`" not in line:
        cells = line.split("|")
    else:
        cells = _split_pipe_row_marked(line)
    stripped = line.strip()
    if stripped.startswith("|") and cells and not cells[0].strip():
        cells = cells[1:]
    if stripped.endswith("|") and len(stripped) > 1 and cells and not cells[-1].strip():
        cells = cells[:-1]
    if "\\|" in line:
        return [c.strip().replace("\\|", "|") for c in cells]
    return [c.strip() for c in cells]


# pandoc's rule for `$`: it opens math only before a non-space, and closes it only after a non-space and
# not before a digit; a `$` with no such closer later on the line is a currency sign (`| $5 | $10 |`), and
# so is one followed by a digit whose closer lies past the next pipe.
_MATH_CLOSER = re.compile(r"(?<=[^\s\\])\$(?!\d)")


def _split_pipe_row_marked(line: str) -> list[str]:
    cells: list[str] = []
    cur_start, in_math, in_code = 0, False, False
    closers = [c.start() for c in _MATH_CLOSER.finditer(line)]
    pipes = [i for i, ch in enumerate(line) if ch == "|"]
    k = 0  # closers[k:] lie after the current position
    for m in re.finditer(r"\\.|\$|`|\|", line):
        tok = m.group(0)
        while k < len(closers) and closers[k] <= m.start():
            k += 1
        if tok == "$" and not in_code:
            if in_math:
                in_math = not (k > 0 and closers[k - 1] == m.start())  # only a valid closer closes
            else:
                in_math = m.end() < len(line) and not line[m.end()].isspace() and k < len(closers)
                if in_math and line[m.end()].isdigit():  # `$5 | $x$`: a digit-led `$` spans no cell border
                    p = bisect_right(pipes, m.end())
                    in_math = p == len(pipes) or closers[k] < pipes[p]
        elif tok == "`" and not in_math:
            in_code = not in_code
        elif tok == "|" and not in_math and not in_code:
            cells.append(line[cur_start : m.start()])
            cur_start = m.end()
    cells.append(line[cur_start:])
    return cells


def pipe_table_rows(block: Block) -> list[list[str]]:
    """Rows of a pipe table (the delimiter row left out), each a list of cell texts."""
    lines = block.content.split("\n")
    return [split_pipe_row(line) for i, line in enumerate(lines) if i != 1 and line.strip()]


def pipe_table_html(block: Block) -> str:
    """The same table in the output convention's HTML, so one set of table checks serves both forms."""
    rows = "".join("<tr>" + "".join(f"<td>{escape(c, quote=False)}</td>" for c in r) + "</tr>" for r in pipe_table_rows(block))
    return f"<table>{rows}</table>"
