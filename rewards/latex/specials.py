"""The commands the checker cannot treat as "a macro with arguments": \\left/\\right, \\over and friends,
\\limits, labels and tags, boxes and TeX primitives that read keywords, dimensions or numbers from the
token stream, \\verb and macro definitions (environments and cells: latex_alignment).

A mixin of the Parser (latex_structure): each handler gets the top frame, the token and its index and
returns the index of the next token to read.
"""
from __future__ import annotations

from typing import Callable

from rewards.latex import macros as M
from rewards.latex.alignment import AlignmentMixin
from rewards.latex.dimens import number_value, read_dimen, read_glue, read_number
from rewards.latex.state import ARG, ENV, INLINE, LEFT, MATH, OPT, TEXT, Fail, Frame
from rewards.latex.tokens import BGROUP, CHAR, CS, EGROUP, PAR, PARAM, SUB, SUP, Token

_NUMBER_LIMITS = {"char": 256, "mathchar": 0x8000, "delimiter": 0x8000000, "mathaccent": 0x8000,
                  "radical": 0x8000000}
_OVER_FAMILY = {"over": "", "atop": "", "choose": "", "brace": "", "brack": "", "above": "d",
                "overwithdelims": "xx", "atopwithdelims": "xx", "abovewithdelims": "xxd"}


class SpecialsMixin(AlignmentMixin):
    SPECIALS: dict[str, Callable] = {}

    # --------------------------------------------------------------- \left \middle \right
    def h_left(self, top: Frame, tok: Token, i: int) -> int:
        self.math_only(top, tok)
        j = self.delimiter_at(i + 1, "left")
        self.push(LEFT, MATH, i)
        return j

    def h_middle(self, top: Frame, tok: Token, i: int) -> int:
        self.math_only(top, tok)
        if top.kind != LEFT:
            raise Fail("\\middle without \\left in the same group", tok.pos)
        self.new_atom(top, 0)
        return self.delimiter_at(i + 1, "middle")

    def h_right(self, top: Frame, tok: Token, i: int) -> int:
        self.math_only(top, tok)
        if top.kind != LEFT:
            if any(frame.kind == LEFT for frame in self.stack):
                raise self.unclosed(top, "\\right", i)
            raise Fail("\\right without \\left", tok.pos)
        j = self.delimiter_at(i + 1, "right")
        self.pop(i)
        return j

    # --------------------------------------------------------------- atoms: \limits, \over
    def h_limits(self, top: Frame, tok: Token, i: int) -> int:
        self.math_only(top, tok)
        if top.atom != 2:
            raise Fail(f"\\{tok.value} must follow a math operator", tok.pos)
        return i + 1

    def h_over(self, top: Frame, tok: Token, i: int) -> int:
        self.math_only(top, tok)
        top.over += 1
        if top.over > 1:
            raise Fail(f"ambiguous \\{tok.value}: two fractions in one group", tok.pos)
        self.new_atom(top, 0)
        j = i + 1
        for letter in _OVER_FAMILY[tok.value]:
            j = self.delimiter_at(j, tok.value) if letter == "x" else self.read(read_dimen, j, tok.value)
        return j

    def h_buildrel(self, top: Frame, tok: Token, i: int) -> int:
        self.math_only(top, tok)
        j, end = i + 1, self.limit()
        while j < end and not (self.toks[j].kind == CS and self.toks[j].value == "over"):
            if self.toks[j].kind == BGROUP:
                j = self.match[j]
            elif self.toks[j].kind == EGROUP:
                break
            j += 1
        if j >= end or self.toks[j].kind != CS:
            raise Fail("\\buildrel without its \\over", tok.pos)
        top.pending, top.macro, top.mpos, top.result = ["m"], "buildrel", tok.pos, M.ORD
        self.push(OPT, MATH, i, j)
        return i + 1

    def h_noexpand(self, top: Frame, tok: Token, i: int) -> int:
        """\\noexpand (and \\do, \\let to it): the next token is not expanded; an undefined command then
        acts as \\relax, so it is not looked up (other tokens are read as usual)."""
        if i + 1 >= self.n:
            raise Fail(f"\\{tok.value} at the end of the formula", tok.pos)
        after = self.toks[i + 1]
        if after.kind == CS and after.value not in M.MACROS and after.value not in self.SPECIALS:
            return i + 2  # an undefined command, not expanded: harmless
        return i + 1

    def h_script(self, top: Frame, tok: Token, i: int) -> int:
        """\\sp and \\sb are \\let to ^ and _ (plain TeX, kept by LaTeX)."""
        kind = SUP if tok.value == "sp" else SUB
        return self.on_script(top, Token(kind, "^" if kind == SUP else "_", tok.pos, tok.space), i)

    # --------------------------------------------------------------- labels and tags
    def h_label(self, top: Frame, tok: Token, i: int) -> int:
        self.labels += 1
        if self.labels > 1:
            raise Fail("more than one \\label in one display", tok.pos)
        top.pending, top.macro, top.mpos, top.result = ["L"], "label", tok.pos, M.KEEP
        return i + 1

    def h_tag(self, top: Frame, tok: Token, i: int) -> int:
        self.tags += 1
        if self.tags > 1:
            raise Fail("more than one \\tag in one display", tok.pos)
        if any(frame.kind == ENV and not frame.env.tag_ok for frame in self.stack):
            raise Fail(f"\\tag not allowed inside {{{self.nearest_env().name}}}", tok.pos)
        top.pending, top.macro, top.mpos, top.result = ["s", "t"], "tag", tok.pos, M.KEEP
        return i + 1

    # --------------------------------------------------------------- boxes and primitives
    def h_hbox(self, top: Frame, tok: Token, i: int) -> int:
        j = i + 1
        for word in ("to", "spread"):
            if all(j + k < self.n and self.toks[j + k].kind == CHAR and self.toks[j + k].value == c
                   for k, c in enumerate(word)):
                j = self.read(read_dimen, j + len(word), tok.value)
                break
        if j >= self.n or self.toks[j].kind != BGROUP:
            raise Fail(f"\\{tok.value} needs its contents in braces", self.pos(j))
        if top.mode == MATH:
            self.new_atom(top, 1)
        self.push(ARG, TEXT, j, self.match[j])
        return j + 1

    def h_raise(self, top: Frame, tok: Token, i: int) -> int:
        j = self.read(read_dimen, i + 1, tok.value)
        if j >= self.n or self.toks[j].kind != CS or self.toks[j].value not in ("hbox", "vbox", "vtop"):
            raise Fail(f"\\{tok.value} needs a box (\\hbox{{..}}) after its dimension", self.pos(j))
        return j

    def h_kern(self, top: Frame, tok: Token, i: int) -> int:
        name = tok.value
        if name == "kern":
            j = self.read(read_dimen, i + 1, name)
        elif name == "mkern":
            j = self.read(read_dimen, i + 1, name, mu=True)
        elif name == "mskip":
            j = self.read(read_glue, i + 1, name, mu=True)
        else:
            j = self.read(read_glue, i + 1, name)
        if name in ("mkern", "mskip"):
            self.math_only(top, tok)
        if top.mode == MATH:
            self.new_atom(top, 0)
        return j

    def h_vrule(self, top: Frame, tok: Token, i: int) -> int:
        j = i + 1
        while True:
            for word in ("width", "height", "depth"):
                if all(j + k < self.n and self.toks[j + k].kind == CHAR and self.toks[j + k].value == c
                       for k, c in enumerate(word)):
                    j = self.read(read_dimen, j + len(word), tok.value)
                    break
            else:
                break
        if top.mode == MATH:
            self.new_atom(top, 0)
        return j

    def h_number(self, top: Frame, tok: Token, i: int) -> int:
        """\\char, \\mathchar, \\delimiter, \\penalty <number>; \\mathaccent/\\radical <number><field>."""
        j = self.read(read_number, i + 1, tok.value)
        value = number_value(self.toks[i + 1 : j])
        limit = _NUMBER_LIMITS.get(tok.value)
        if limit is not None and value is not None and not 0 <= value < limit:
            raise Fail(f"bad number {value} after \\{tok.value} (must be below {limit})", tok.pos)
        if tok.value in ("mathchar", "delimiter", "mathaccent", "radical"):
            self.math_only(top, tok)
        if tok.value in ("mathaccent", "radical"):
            return self.script_field(top, j, "\\" + tok.value)
        if top.mode == MATH:
            self.new_atom(top, 0 if tok.value == "penalty" else 1)
        return j

    def h_verb(self, top: Frame, tok: Token, i: int) -> int:
        if self.args:
            raise Fail("\\verb inside a command argument", tok.pos)
        j = i + 1
        if j < self.n and self.toks[j].kind == CHAR and self.toks[j].value == "*":
            j += 1
        if j >= self.n or self.toks[j].kind != CHAR:
            raise Fail("\\verb without a delimiter", tok.pos)
        delim = self.toks[j].value
        k = j + 1
        while k < self.n and not (self.toks[k].kind == CHAR and self.toks[k].value == delim):
            if self.toks[k].kind == PAR:
                break
            k += 1
        if k >= self.n or self.toks[k].kind != CHAR:
            raise Fail("\\verb not closed", tok.pos)
        if top.mode == MATH:
            self.new_atom(top, 1)
        return k + 1

    def h_inline(self, top: Frame, tok: Token, i: int) -> int:
        if tok.value == "(" and top.mode == TEXT:
            self.push(INLINE, MATH, i, name=")")
            return i + 1
        if tok.value == ")" and top.kind == INLINE and top.name == ")":
            self.pop(i)
            return i + 1
        raise Fail(f"\\{tok.value} inside {'math' if top.mode == MATH else 'text'}", tok.pos)

    # --------------------------------------------------------------- definitions
    def h_define(self, top: Frame, tok: Token, i: int) -> int:
        """\\newcommand/\\renewcommand/\\providecommand, \\def and \\let: register the new macro."""
        kind = tok.value
        j = i + 1
        if kind.endswith("command") and j < self.n and self.toks[j].kind == CHAR and self.toks[j].value == "*":
            j += 1
        if j < self.n and self.toks[j].kind == BGROUP and kind.endswith("command"):
            inner = self.toks[j + 1 : self.match[j]]
            if len(inner) != 1 or inner[0].kind != CS:
                raise Fail(f"\\{kind} needs one control sequence to define", tok.pos)
            name, j = inner[0].value, self.match[j] + 1
        elif j < self.n and self.toks[j].kind == CS:
            name, j = self.toks[j].value, j + 1
        else:
            raise Fail(f"\\{kind} needs a control sequence to define", tok.pos)
        known = name in self.user or name in M.MACROS or name in self.SPECIALS or name in M.ERRORS
        if kind == "newcommand" and known:
            raise Fail(f"\\newcommand: \\{name} already defined", tok.pos)
        if kind == "renewcommand" and not known:
            raise Fail(f"\\renewcommand: \\{name} undefined", tok.pos)
        if kind == "let":
            if j < self.n and self.toks[j].kind == CHAR and self.toks[j].value == "=":
                j += 1
            if j >= self.n:
                raise Fail("\\let without a value", tok.pos)
            source = self.toks[j]
            if source.kind == CS:  # \\let to an undefined command leaves the name undefined (None)
                self.user[name] = self.user.get(source.value) or M.MACROS.get(source.value)
            else:
                self.user[name] = ("", 3, M.ORD, True)
            return j + 1
        args, optional = 0, ""
        if kind.endswith("command"):
            for index in range(2):
                close = self.opt_bracket(j, kind)
                if close < 0:
                    break
                text = "".join(t.value for t in self.toks[j + 1 : close])
                if index == 0 and text.isdigit():
                    args = int(text)
                elif index == 1 and args:
                    optional = "R"
                j = close + 1
        else:
            while j < self.n and self.toks[j].kind != BGROUP:
                args += self.toks[j].kind == PARAM
                j += 1
        if j >= self.n or self.toks[j].kind != BGROUP:
            raise Fail(f"\\{kind} needs a body in braces", tok.pos)
        if kind != "providecommand" or not known:
            # "u": arguments TeX takes whatever follows (even the display's closing \\]) and the body decides
            self.user[name] = ((optional and "R") + "u" * (args - bool(optional)), 3, M.ORD, False)
        return self.match[j] + 1


def _register() -> None:
    s = SpecialsMixin
    table = {
        "left": s.h_left, "middle": s.h_middle, "right": s.h_right, "begin": s.h_begin, "end": s.h_end,
        "\\": s.h_cr, "cr": s.h_plain_cr, "crcr": s.h_plain_cr, "hline": s.h_hline, "cline": s.h_hline,
        "noalign": s.h_hline, "multicolumn": s.h_multicolumn, "hdotsfor": s.h_multicolumn,
        "limits": s.h_limits, "nolimits": s.h_limits, "displaylimits": s.h_limits, "buildrel": s.h_buildrel,
        "label": s.h_label, "sp": s.h_script, "sb": s.h_script,
        "noexpand": s.h_noexpand, "do": s.h_noexpand, "tag": s.h_tag, "substack": s.h_substack,
        "hbox": s.h_hbox, "vbox": s.h_hbox, "vtop": s.h_hbox, "raise": s.h_raise, "lower": s.h_raise,
        "kern": s.h_kern, "mkern": s.h_kern, "hskip": s.h_kern, "mskip": s.h_kern, "vrule": s.h_vrule,
        "char": s.h_number, "mathchar": s.h_number, "delimiter": s.h_number, "mathaccent": s.h_number,
        "radical": s.h_number, "penalty": s.h_number, "verb": s.h_verb,
        "(": s.h_inline, ")": s.h_inline, "[": s.h_inline, "]": s.h_inline,
        "newcommand": s.h_define, "renewcommand": s.h_define, "providecommand": s.h_define,
        "def": s.h_define, "gdef": s.h_define, "edef": s.h_define, "xdef": s.h_define, "let": s.h_define,
    }
    table.update({name: s.h_over for name in _OVER_FAMILY})
    SpecialsMixin.SPECIALS = table


_register()
__all__ = ["SpecialsMixin"]
