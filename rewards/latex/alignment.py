"""Environments and their cells: \\begin/\\end, array preambles, \\\\ and \\cr, \\hline, \\cline,
\\multicolumn, \\hdotsfor and \\substack. A mixin of the Parser (latex_structure).
"""
from __future__ import annotations

from rewards.latex import macros as M
from rewards.latex.arguments import ArgumentsMixin
from rewards.latex.dimens import read_dimen, read_glue, read_number
from rewards.latex.state import ENV, MATH, TEXT, Fail, Frame
from rewards.latex.tokens import BGROUP, CHAR, CS, Token


class AlignmentMixin(ArgumentsMixin):
    def braced_name(self, i: int, macro: str) -> tuple[str, int]:
        """The environment name after \\begin or \\end, and the index after it."""
        if i >= self.n:
            raise Fail(f"\\{macro} without an environment name", self.pos(i))
        tok = self.toks[i]
        if tok.kind == BGROUP:
            end = self.match[i]
            inner = self.toks[i + 1 : end]
            if any(t.kind != CHAR for t in inner):
                raise Fail(f"bad environment name after \\{macro}", tok.pos)
            return "".join(t.value for t in inner), end + 1
        if tok.kind == CHAR:
            return tok.value, i + 1
        raise Fail(f"bad environment name after \\{macro}", tok.pos)

    def nearest_env(self) -> Frame | None:
        for frame in reversed(self.stack):
            if frame.kind == ENV:
                return frame
        return None

    def new_row(self, top: Frame) -> None:
        top.col, top.cell, top.over = 0, False, 0
        self.new_atom(top, 0)

    # --------------------------------------------------------------- environments
    def h_begin(self, top: Frame, tok: Token, i: int) -> int:
        name, j = self.braced_name(i + 1, "begin")
        env = M.ENVIRONMENTS.get(name)
        if env is None:
            message = M.BAD_ENVIRONMENTS.get(name, "unknown environment")
            raise Fail(f"\\begin{{{name}}}: {message}", tok.pos)
        if not env.modes & top.mode:
            raise Fail(f"\\begin{{{name}}} is not allowed in {'math' if top.mode == MATH else 'text'} mode", tok.pos)
        cols = env.cols
        for letter in env.args:
            if letter == "R":
                close = self.opt_bracket(j, "begin{" + name + "}")
                if close >= 0:
                    j = close + 1
                continue
            if j >= self.n:
                raise Fail(f"missing argument for \\begin{{{name}}}", self.pos(j))
            arg = self.toks[j]
            end = self.match[j] if arg.kind == BGROUP else j + 1
            start = j + 1 if arg.kind == BGROUP else j
            if arg.kind not in (BGROUP, CHAR, CS):
                raise Fail(f"missing argument for \\begin{{{name}}}", arg.pos)
            if letter in "ck":  # k: checked but the environment has its own column count
                declared = self.colspec(start, end, name)
                cols = declared if letter == "c" else cols
                if declared == 0:
                    raise Fail(f"\\begin{{{name}}}: the column specification declares no column", arg.pos)
            elif letter == "n":
                self.read(read_number, start, name)
            elif letter == "d":
                self.read(read_dimen, start, name)
            j = end + 1 if arg.kind == BGROUP else end
        frame = self.push(ENV, env.cell_mode or top.mode, i, name=name)
        frame.cols, frame.env = cols, env
        self.envs += 1
        return j

    def h_end(self, top: Frame, tok: Token, i: int) -> int:
        name, j = self.braced_name(i + 1, "end")
        if top.kind == ENV and top.end < 0:
            if top.name != name:
                raise Fail(f"\\begin{{{top.name}}} at {top.pos} ended by \\end{{{name}}}", tok.pos)
            if top.macro:
                raise Fail(f"missing argument for \\{top.macro} before \\end{{{name}}}", tok.pos)
            self.pop(i)
            return j
        if self.envs:
            raise self.unclosed(top, f"\\end{{{name}}}", i)
        raise Fail(f"\\end{{{name}}} without \\begin", tok.pos)

    def arg_span(self, j: int, end: int, name: str) -> tuple[int, int, int]:
        """Content start, content end and next index of the (braced or one-token) argument at j."""
        if j >= end:
            raise Fail(f"missing argument in the preamble of {{{name}}}", self.pos(j))
        if self.toks[j].kind == BGROUP:
            return j + 1, self.match[j], self.match[j] + 1
        return j, j + 1, j + 1

    def colspec(self, i: int, end: int, name: str) -> int:
        """Number of columns an array/tabular preamble declares (LaTeX without the array package)."""
        cols = 0
        toks = self.toks
        while i < end:
            tok = toks[i]
            value = tok.value if tok.kind == CHAR else ""
            if value in ("l", "c", "r"):
                cols += 1
            elif value == "|":
                pass
            elif value in ("@", "p"):
                i += 1
                if i >= end:
                    raise Fail(f"missing argument of {value} in the preamble of {{{name}}}", tok.pos)
                if toks[i].kind == BGROUP:
                    if value == "p":
                        self.read(read_dimen, i + 1, name)
                    i = self.match[i]
                cols += value == "p"
            elif value == "*":  # *{count}{columns}; either argument may be a single token
                c_start, c_stop, j = self.arg_span(i + 1, end, name)
                s_start, s_stop, j = self.arg_span(j, end, name)
                count = "".join(t.value for t in toks[c_start:c_stop])
                if not count.isdigit():
                    raise Fail(f"bad * count in the preamble of {{{name}}}", tok.pos)
                cols += int(count) * self.colspec(s_start, s_stop, name)
                i = j - 1
            else:
                raise Fail(f"illegal character {tok.value!r} in the preamble of {{{name}}}", tok.pos)
            i += 1
        return cols

    # --------------------------------------------------------------- rows and cells
    def h_cr(self, top: Frame, tok: Token, i: int) -> int:
        """\\\\ (and \\newline-like row ends): optional * and [dimen]."""
        j = i + 1
        if j < self.n and self.toks[j].kind == CHAR and self.toks[j].value == "*":
            j += 1
        ams = top.kind == ENV and top.env is not None and top.env.ams
        if not (ams and j < self.n and self.toks[j].space):
            close = self.opt_bracket(j, "\\")
            if close >= 0:
                if self.read(read_glue, j + 1, "\\\\") < close and top.kind == ENV:
                    raise Fail("text after the dimension in \\\\[..] of an alignment", self.pos(j))
                j = close + 1
        if top.kind == ENV:
            self.new_row(top)
        elif self.envs:
            raise Fail("\\\\ inside a group or \\left of an alignment cell", tok.pos)
        return j

    def h_plain_cr(self, top: Frame, tok: Token, i: int) -> int:
        if top.kind != ENV:
            raise Fail(f"misplaced \\{tok.value} (outside an alignment cell)", tok.pos)
        self.new_row(top)
        return i + 1

    def row_start(self, top: Frame, tok: Token) -> None:
        if top.kind != ENV or top.col or top.cell:
            raise Fail(f"misplaced \\{tok.value} (only at the start of a row)", tok.pos)

    def h_hline(self, top: Frame, tok: Token, i: int) -> int:
        self.row_start(top, tok)
        if tok.value == "cline":
            j = i + 1
            if j >= self.n or self.toks[j].kind != BGROUP:
                raise Fail("\\cline needs {a-b}", tok.pos)
            text = "".join(t.value for t in self.toks[j + 1 : self.match[j]])
            first, dash, last = text.partition("-")
            if not (first.strip().isdigit() and dash and last.strip().isdigit()):
                raise Fail("\\cline needs {a-b}", tok.pos)
            return self.match[j] + 1
        if tok.value == "noalign":
            if i + 1 >= self.n or self.toks[i + 1].kind != BGROUP:
                raise Fail("\\noalign needs braces", tok.pos)
            return self.match[i + 1] + 1
        return i + 1

    def h_multicolumn(self, top: Frame, tok: Token, i: int) -> int:
        if top.kind != ENV or top.cell or not top.env.array_based:
            raise Fail(f"misplaced \\{tok.value} (only at the start of a cell of an array)", tok.pos)
        j = i + 1
        if tok.value == "hdotsfor":
            close = self.opt_bracket(j, tok.value)
            j = close + 1 if close >= 0 else j
        if j >= self.n or self.toks[j].kind not in (BGROUP, CHAR):
            raise Fail(f"missing argument for \\{tok.value}", self.pos(j))
        end = self.match[j] if self.toks[j].kind == BGROUP else j
        text = "".join(t.value for t in self.toks[j + 1 : end]) if end != j else self.toks[j].value
        if not text.strip().isdigit():
            raise Fail(f"\\{tok.value} needs a number of columns", tok.pos)
        top.col += int(text) - 1
        if top.col >= top.cols:
            raise Fail(f"\\{tok.value} spans past the {top.cols} columns of {{{top.name}}}", tok.pos)
        top.cell = True
        j = end + 1
        if tok.value == "hdotsfor":
            return j
        if j >= self.n or self.toks[j].kind != BGROUP:
            raise Fail("\\multicolumn needs a column specification", self.pos(j))
        if self.colspec(j + 1, self.match[j], "multicolumn") != 1:
            raise Fail("\\multicolumn needs exactly one column in its specification", self.pos(j))
        top.pending, top.macro, top.mpos, top.result = ["t" if top.mode == TEXT else "m"], "multicolumn", tok.pos, M.KEEP
        return self.match[j] + 1

    def h_substack(self, top: Frame, tok: Token, i: int) -> int:
        self.math_only(top, tok)
        j = i + 1
        if j >= self.n or self.toks[j].kind != BGROUP:
            raise Fail("\\substack needs its argument in braces", tok.pos)
        frame = self.push(ENV, MATH, j, self.match[j], name="substack")
        frame.cols, frame.env = 1, M.ENVIRONMENTS["subarray"]
        self.envs += 1
        return j + 1
