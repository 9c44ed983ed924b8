"""Shared state of the LaTeX checker: frame kinds, the Frame record and the Fail exception."""
from __future__ import annotations

from rewards.latex import macros as M
from rewards.latex.tokens import ALIGN, EGROUP, INVALID, MATHSHIFT, PAR, PARAM, SUB, SUP

MATH, TEXT = 1, 2
ROOT, GROUP, ARG, OPT, LEFT, ENV, INLINE = range(7)
MAX_GROUP_DEPTH = 252  # pdflatex: 255 grouping levels, 3 taken by the document and the display
MAX_STACK = 2000  # \left and environments nest without braces; TeX's semantic nest is 500 deep
UNLIMITED = 1 << 30  # column limit of aligned, smallmatrix...


class Fail(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.reason = f"{message} at {pos}"


class Frame:
    __slots__ = ("kind", "mode", "end", "pos", "name", "atom", "sup", "sub", "over", "pending", "macro",
                 "mpos", "result", "cols", "col", "cell", "env")

    def __init__(self, kind: int, mode: int, pos: int, end: int = -1, name: str = "") -> None:
        self.kind, self.mode, self.pos, self.end, self.name = kind, mode, pos, end, name
        self.atom = 0  # 0: no atom to attach scripts to, 1: an ordinary atom, 2: an operator
        self.sup = self.sub = False
        self.over = 0
        self.pending: list[str] = []  # argument kinds still to read for `macro`
        self.macro = ""  # the macro collecting arguments ("" when none)
        self.mpos = 0
        self.result = M.ORD  # what the macro leaves behind once complete (M.ORD, M.OP, M.RESET, M.KEEP)
        self.cols = UNLIMITED  # environments: column limit
        self.col = 0
        self.cell = False  # the current cell has content (for \hline, \multicolumn)
        self.env: M.Env | None = None


FIELD_BAD = {EGROUP: "}", SUP: "^", SUB: "_", ALIGN: "&", PARAM: "#", MATHSHIFT: "$", PAR: "a blank line",
              INVALID: "an invalid character"}
