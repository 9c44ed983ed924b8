"""TeX's <dimen>, <glue> and <number> syntax over tokens, for the places where TeX reads one
(\\kern, \\hspace{..}, \\rule, \\\\[..], array p{..} columns, \\char...).

Each reader takes the token list and a start index and returns the index after what it read, or raises
DimenError with TeX's own complaint. Registers (\\textwidth, \\arraycolsep, ...) count as dimensions.
"""
from __future__ import annotations

from rewards.latex import macros as M
from rewards.latex.tokens import BGROUP, CHAR, CS, EGROUP, Token

_UNITS = ("pt", "pc", "in", "bp", "cm", "mm", "dd", "cc", "sp", "em", "ex", "px")
_MAX_PT = 16383.99999  # TeX's \maxdimen
# Approximate points per unit, only to report "Dimension too large" where TeX does.
_PT_PER = {"pt": 1.0, "pc": 12.0, "in": 72.27, "bp": 1.00375, "cm": 28.45274, "mm": 2.845274, "dd": 1.07, "cc": 12.84,
           "sp": 1 / 65536, "em": 10.0, "ex": 4.3, "px": 1.0, "mu": 1.0, "true": 1.0}


class DimenError(Exception):
    pass


def _char(toks: list[Token], i: int, end: int) -> str:
    """The character at i (lower-cased) when it is a plain character inside [.., end), else ''."""
    if i < end and toks[i].kind == CHAR:
        return toks[i].value
    return ""


def _signs(toks: list[Token], i: int, end: int) -> tuple[int, float]:
    sign = 1.0
    while _char(toks, i, end) in ("+", "-"):
        if toks[i].value == "-":
            sign = -sign
        i += 1
    return i, sign


def _keyword(toks: list[Token], i: int, end: int, word: str) -> int:
    """Index after `word` (case-insensitive, letters as separate tokens) at i, or -1."""
    j = i
    for letter in word:
        if _char(toks, j, end).lower() != letter:
            return -1
        j += 1
    return j


def _unsigned_number(toks: list[Token], i: int, end: int, decimal: bool) -> tuple[int, float | None]:
    """Digits (with a decimal `.` or `,` when `decimal`), `"HEX`, `'oct` or a character code."""
    c = _char(toks, i, end)
    if c == '"':
        j = i + 1
        while _char(toks, j, end) and _char(toks, j, end) in "0123456789ABCDEF":
            j += 1
        return (j, float(int("".join(t.value for t in toks[i + 1 : j]), 16))) if j > i + 1 else (i, None)
    if c == "'":
        j = i + 1
        while _char(toks, j, end) and _char(toks, j, end) in "01234567":
            j += 1
        return (j, float(int("".join(t.value for t in toks[i + 1 : j]), 8))) if j > i + 1 else (i, None)
    if c == "`":  # `a or `\a: the character code
        if i + 1 < end:
            return i + 2, 65.0
        return i, None
    j = i
    digits = []
    while _char(toks, j, end).isdigit() and len(_char(toks, j, end)) == 1:
        digits.append(toks[j].value)
        j += 1
    if decimal and _char(toks, j, end) in (".", ","):
        digits.append(".")
        j += 1
        while _char(toks, j, end).isdigit() and len(_char(toks, j, end)) == 1:
            digits.append(toks[j].value)
            j += 1
    text = "".join(digits)
    if not text:
        return i, None
    return j, float(text) if text != "." else 0.0  # TeX reads a lone "." as 0


def number_value(toks: list[Token]) -> int | None:
    """The value of a number read by read_number (None for a register or a character code)."""
    end, sign = _signs(toks, 0, len(toks))
    j, value = _unsigned_number(toks, end, len(toks), decimal=False)
    if value is None or (end < len(toks) and toks[end].kind == CHAR and toks[end].value == "`"):
        return None
    return int(sign * value)


def read_number(toks: list[Token], i: int, end: int) -> int:
    """A TeX <number>: signs, then digits / "hex / 'octal / `char, or a count register."""
    i, _ = _signs(toks, i, end)
    if i < end and toks[i].kind == CS and toks[i].value in M.COUNT_REGISTERS:
        return i + 1
    j, value = _unsigned_number(toks, i, end, decimal=False)
    if value is None:
        raise DimenError("Missing number, treated as zero")
    return j


def read_dimen(toks: list[Token], i: int, end: int, mu: bool = False, fil: bool = False) -> int:
    """A TeX <dimen> (or <mudimen> when `mu`; `fil` also allows fil/fill/filll units, as in glue)."""
    i, _ = _signs(toks, i, end)
    if i < end and toks[i].kind == CS:
        name = toks[i].value
        if name == "stretch" and i + 1 < end and toks[i + 1].kind == BGROUP:  # \stretch{1}: 0pt plus 1fill
            depth, j = 0, i + 1
            while j < end:
                depth += (toks[j].kind == BGROUP) - (toks[j].kind == EGROUP)
                j += 1
                if depth == 0:
                    return j
            raise DimenError("Missing number, treated as zero")
        if name in M.DIMEN_REGISTERS or name in M.GLUE_REGISTERS:
            if mu:
                raise DimenError("Incompatible glue units")
            return i + 1
        if name in M.MUGLUE_REGISTERS and mu:
            return i + 1
        raise DimenError("Missing number, treated as zero")
    j, value = _unsigned_number(toks, i, end, decimal=True)
    if value is None:
        raise DimenError("Missing number, treated as zero")
    if j < end and toks[j].kind == CS:  # 0.5\textwidth
        name = toks[j].value
        if name in M.DIMEN_REGISTERS or name in M.GLUE_REGISTERS or (mu and name in M.MUGLUE_REGISTERS):
            return j + 1
    if mu:
        k = _keyword(toks, j, end, "mu")
        if k < 0:
            if fil and _keyword(toks, j, end, "fil") >= 0:
                return _fil(toks, j, end)
            raise DimenError("Illegal unit of measure (mu inserted)")
        return k
    if fil and _keyword(toks, j, end, "fil") >= 0:
        return _fil(toks, j, end)
    k = _keyword(toks, j, end, "true")
    if k >= 0:
        j = k
    for unit in _UNITS:
        k = _keyword(toks, j, end, unit)
        if k >= 0:
            if value * _PT_PER[unit] > _MAX_PT and unit not in ("em", "ex"):
                raise DimenError("Dimension too large")
            return k
    raise DimenError("Illegal unit of measure (pt inserted)")


def _fil(toks: list[Token], j: int, end: int) -> int:
    k = _keyword(toks, j, end, "fil")
    while _char(toks, k, end).lower() == "l":
        k += 1
    if k - j > 5:
        raise DimenError("Illegal unit of measure (replaced by filll)")
    return k


def read_glue(toks: list[Token], i: int, end: int, mu: bool = False) -> int:
    """A TeX <glue>: a dimen with optional `plus` and `minus` parts (which may be fil/fill/filll)."""
    if i < end and toks[i].kind == CS and toks[i].value in (M.MUGLUE_REGISTERS if mu else M.GLUE_REGISTERS):
        return i + 1
    j = read_dimen(toks, i, end, mu=mu)
    for word in ("plus", "minus"):
        k = _keyword(toks, j, end, word)
        if k >= 0:
            j = read_dimen(toks, k, end, mu=mu, fil=True)
    return j
