"""TeX's tokeniser, as pdflatex sees the body of a LaTeX document (catcodes after \\begin{document}).

Only what decides whether a formula compiles is kept: control sequences, characters with their category,
blank lines (which become \\par), comments (dropped with their line end), `^^` notation, and the characters
LaTeX refuses outright (NUL and DEL are `invalid`, other C0 controls are undefined active characters).
Spaces are not tokens: each token records whether white space preceded it, because math mode ignores
spaces and the few places where a space matters (amsmath's `\\\\` followed by ` [`) only need that bit.
"""
from __future__ import annotations

import re
from typing import NamedTuple

# Token kinds (small ints: the checker dispatches on them in its inner loop).
CS = 0  # control sequence; value is its name without the backslash ("frac", ",", "\\")
CHAR = 1  # letter or other character (catcode 11/12)
BGROUP = 2  # {
EGROUP = 3  # }
MATHSHIFT = 4  # $
ALIGN = 5  # &
PARAM = 6  # #
SUP = 7  # ^
SUB = 8  # _
ACTIVE = 9  # ~, or a non-ASCII character (LaTeX's utf8 makes every byte >= 0x80 active)
PAR = 10  # a blank line (or a form feed): \par
INVALID = 11  # NUL / DEL (catcode 15) or an undefined control character; value says which


class Token(NamedTuple):
    kind: int
    value: str
    pos: int  # offset of the token's first character in the checked string
    space: bool  # white space (or a line end) came right before it


# One regex pass per line. Control words swallow the spaces after them (TeX's state S).
_LINE_TOKEN = re.compile(
    r"\\([A-Za-z]+)[ \t]*"  # 1: control word
    r"|\\( )[ \t]*"  # 2: control space (also skips blanks)
    r"|\\(.)"  # 3: control symbol
    r"|\\$"  # \ at the end of a line: \^^M, which LaTeX defines as a control space
    r"|(%)"  # 4: comment: the rest of the line, line end included, is dropped
    r"|([ \t]+)"  # 5: blanks
    r"|(.)",  # 6: any other single character
    re.DOTALL,
)
_SIMPLE = {"{": BGROUP, "}": EGROUP, "$": MATHSHIFT, "&": ALIGN, "#": PARAM, "^": SUP, "_": SUB, "~": ACTIVE}
_HEX = "0123456789abcdef"
_LINE_END = re.compile(r"\r\n|\r|\n")


def _expand_carets(line: str) -> str:
    """Apply TeX's `^^` notation (`^^41` is `A`, `^^M` is a carriage return), left to right.

    The produced character is scanned again (it may start another `^^`); each step consumes at least
    two characters, so the work is linear in the line length.
    """
    chars = list(line)
    out: list[str] = []
    p, n = 0, len(chars)
    while p < n:
        char = chars[p]
        if char == "^" and p + 2 < n and chars[p + 1] == "^" and ord(chars[p + 2]) < 128:
            first = chars[p + 2]
            if p + 3 < n and first in _HEX and chars[p + 3] in _HEX:
                produced, width = chr(int(first + chars[p + 3], 16)), 4
            else:
                code = ord(first)
                produced, width = chr(code + 64 if code < 64 else code - 64), 3
            p += width - 1
            chars[p] = produced
            continue
        out.append(char)
        p += 1
    return "".join(out)


def tokenize(text: str, base: int = 0) -> list[Token]:
    """Tokens of `text` read as `\\[<text>\\]`; lines are split at CR, LF or CRLF, as TeX reads them.

    `base` is added to every position (the caller may have cut a prefix off the string it reports on).
    """
    tokens: list[Token] = []
    append = tokens.append
    offset = base
    lines = _LINE_END.split(text)
    ends = [m.end() for m in _LINE_END.finditer(text)]
    pending_space = False
    for index, raw in enumerate(lines):
        line_start = offset
        offset = base + (ends[index] if index < len(ends) else len(text))
        line = raw.rstrip(" ")
        if "^^" in line:
            line = _expand_carets(line)  # positions inside such a line are approximate
        # State N: leading blanks are skipped; an empty line is \par. The first and the last line share
        # their line with the display's \[ and \], so they are never empty.
        stripped = line.lstrip(" \t")
        if not stripped:
            if 0 < index < len(lines) - 1:
                append(Token(PAR, "par", line_start, pending_space))
                pending_space = False
            else:
                pending_space = True
            continue
        col = len(line) - len(stripped)
        pending_space = pending_space or col > 0
        commented = False
        for match in _LINE_TOKEN.finditer(line, col):
            pos = line_start + match.start()
            group = match.lastindex
            if group == 1:
                append(Token(CS, match.group(1), pos, pending_space))
                pending_space = match.end() > match.start() + 1 + len(match.group(1))
            elif group == 2:
                append(Token(CS, " ", pos, pending_space))
                pending_space = False
            elif group == 3:
                append(Token(CS, match.group(3), pos, pending_space))
                pending_space = False
            elif group is None:  # backslash at line end
                append(Token(CS, " ", pos, pending_space))
                pending_space = False
            elif group == 4:
                commented = True
                break
            elif group == 5:
                pending_space = True
            else:
                char = match.group(6)
                kind = _SIMPLE.get(char)
                if kind is not None:
                    append(Token(kind, char, pos, pending_space))
                else:
                    code = ord(char)
                    if code >= 128:
                        append(Token(ACTIVE, char, pos, pending_space))
                    elif code >= 32 and code != 127:
                        append(Token(CHAR, char, pos, pending_space))
                    elif char == "\f":  # LaTeX: \def^^L{\par}
                        append(Token(PAR, "par", pos, pending_space))
                    else:
                        append(Token(INVALID, char, pos, pending_space))
                pending_space = False
        if not commented:
            # The line end is a space (in state M) or nothing (after a control word); either way a blank.
            pending_space = True
    return tokens
