"""How the checker reads a command's arguments: braced groups pushed as frames, one-token arguments
(with the rules for a bare control sequence as an argument), optional [..] arguments, dimensions,
labels and delimiters. A mixin of the Parser (latex_structure).
"""
from __future__ import annotations

from typing import Callable

from rewards.latex import macros as M
from rewards.latex.dimens import DimenError, read_dimen, read_glue, read_number
from rewards.latex.state import ARG, MATH, OPT, TEXT, FIELD_BAD, Fail, Frame
from rewards.latex.tokens import ACTIVE, BGROUP, CHAR, CS, EGROUP, INVALID, PAR, PARAM, Token


class ArgumentsMixin:
    def math_only(self, top: Frame, tok: Token) -> None:
        if top.mode != MATH:
            raise Fail(f"\\{tok.value} is not allowed in text mode", tok.pos)

    def delimiter_at(self, i: int, after: str) -> int:
        if i >= self.n or not self.is_delimiter(self.toks[i]):
            found = self.toks[i].value if i < self.n else "the end"
            raise Fail(f"missing delimiter after \\{after} (found {found})", self.pos(i))
        return i + 1

    def opt_bracket(self, i: int, macro: str) -> int:
        """Index of the `]` closing an optional argument at i, or -1 when there is none."""
        if i < self.n and self.toks[i].kind == CHAR and self.toks[i].value == "[":
            close = self.next_close_bracket(i)
            if close < 0:
                raise Fail(f"optional argument of \\{macro} has no closing ]", self.pos(i))
            return close
        return -1

    def limit(self) -> int:
        return self.opt_ends[-1] if self.opt_ends else self.n

    def read(self, reader: Callable, i: int, macro: str, **kw) -> int:
        try:
            return reader(self.toks, i, self.limit(), **kw)
        except DimenError as exc:
            raise Fail(f"{exc} after \\{macro}", self.pos(i)) from None

    def take_arg(self, top: Frame, i: int) -> int:
        """Read the next argument of top.macro, starting at token i."""
        letter = top.pending.pop(0)
        tok = self.toks[i] if i < self.n else None
        macro = top.macro
        if letter in "soRD":  # optional arguments
            if letter == "s":
                star = tok is not None and tok.kind == CHAR and tok.value == "*"
                return self.after_arg(top, i + 1 if star else i)
            if tok is None or tok.kind != CHAR or tok.value != "[":
                return self.after_arg(top, i)
            close = self.next_close_bracket(i)
            if close < 0:
                raise Fail(f"optional argument of \\{macro} has no closing ]", tok.pos)
            if letter == "o":
                self.push(OPT, MATH, i, close)
                return i + 1
            if letter == "D":
                self.dimen(i + 1, close, "d", macro)
            return self.after_arg(top, close + 1)
        if tok is None:
            if letter == "u":
                return self.after_arg(top, i)
            raise Fail(f"missing argument for \\{macro} at the end of the formula", self.pos(i))
        kind = tok.kind
        if kind == BGROUP:
            end = self.match[i]
            if letter in "mMtfaABFwe":
                mode = TEXT if letter in "tB" or (letter == "M" and top.mode == TEXT) else MATH
                frame = self.push(ARG, mode, i, end, name=letter)
                if letter == "F":  # \frac{#1}{#2} is {#1\over#2}: a second \over at that level is ambiguous
                    frame.over = 1
                return i + 1
            if letter in "dgvG" or (letter == "E" and end > i + 1):
                j = self.dimen(i + 1, end, {"E": "d", "G": "g"}.get(letter, letter), macro)
                if j < end and letter in "gG":  # \hspace{1cm x}: the rest is typeset after the glue
                    mode = TEXT if letter == "G" else top.mode
                    self.push(ARG, mode, j, end, name=letter)
                    return j
            elif letter in "lL":
                self.label_text(i + 1, end, macro)
            elif letter == "x":
                inner = [t for t in self.toks[i + 1 : end]]
                if len(inner) != 1 or not self.is_delimiter(inner[0]):
                    raise Fail(f"\\{macro} needs a delimiter", tok.pos)
            elif letter == "c":
                self.colspec(i + 1, end, macro)
            elif letter == "n" and end > i + 1:
                self.dimen(i + 1, end, "n", macro)
            return self.after_arg(top, end + 1)
        if kind == EGROUP and letter == "a" and top.kind == ARG and top.name == "a":
            return self.after_arg(top, i)  # amsmath: an accent may end another accent's body (\\dot{a\\hat})
        if kind == EGROUP or kind == PAR or kind == INVALID or (kind in FIELD_BAD and letter != "u"):
            raise Fail(f"missing argument for \\{macro} (found {FIELD_BAD.get(kind, tok.value)})", tok.pos)
        # A single token as the argument.
        if letter == "x":
            if not self.is_delimiter(tok):
                raise Fail(f"\\{macro} needs a delimiter, not {tok.value}", tok.pos)
            return self.after_arg(top, i + 1)
        if letter in "dgvnEG":
            return self.after_arg(top, self.dimen(i, i + 1, {"E": "d", "G": "g"}.get(letter, letter), macro))
        if letter == "B":
            raise Fail(f"\\{macro} needs its argument in braces", tok.pos)
        if letter == "L":  # amsmath's \\label in a display parses its argument: braces required
            raise Fail(f"\\{macro} needs its name in braces", tok.pos)
        if letter == "l" and (kind == CS or (kind == ACTIVE and tok.value == "~")):
            raise Fail(f"\\{macro} cannot take {tok.value} as its name", tok.pos)
        if kind == CS and letter not in "lcu":
            return self.bare_cs_arg(top, tok, i, letter)
        if kind == ACTIVE and tok.value != "~" and letter != "u":
            # UTF-8: the argument would be the first byte only of a multi-byte character
            raise Fail(f"\\{macro} needs braces around the non-ASCII character {tok.value!r}", tok.pos)
        return self.after_arg(top, i + 1)

    def bare_cs_arg(self, top: Frame, tok: Token, i: int, letter: str) -> int:
        """A control sequence given as an unbraced argument (\\frac\\alpha\\beta, \\sqrt\\frac12)."""
        name = tok.value
        if name == "\\" and letter in "mMFtr" and not self.envs:
            return self.after_arg(top, i + 1)  # {\\} is harmless outside alignments
        if name in ("over", "atop", "choose", "brace", "brack") and letter in "mMaAw" and top.mode == MATH:
            return self.after_arg(top, i + 1)  # {\over}: an empty fraction
        if name in self.SPECIALS and name not in self.user:
            raise Fail(f"\\{top.macro} needs braces around \\{name}", tok.pos)
        spec = self.lookup(name, tok.pos)
        mode = TEXT if letter == "t" or (letter == "M" and top.mode == TEXT) else MATH
        if letter != "r" and not spec[1] & mode:
            raise Fail(f"\\{name} is not allowed in {'math' if mode == MATH else 'text'} mode", tok.pos)
        if letter == "f" and not spec[3] and not (top.result == M.OP and spec[2] == M.OP):  # \mathop\sum
            raise Fail(f"\\{top.macro} needs braces around \\{name}", tok.pos)
        needs = spec[0].strip("soRD")
        if not needs:
            return self.after_arg(top, i + 1)
        # The inner macro reads its own arguments from what follows, which works only where the outer
        # one hands the token to a TeX primitive (a math field) or to a nested amsmath accent.
        if (letter == "f" and spec[3]) or (letter == "e" and top.mode == MATH) or (letter == "a" and spec[2] == M.ACCENT) or (
                letter == "A" and spec[2] == M.ALPHABET) or (letter == "w" and spec[2] in (M.ACCENT, M.ALPHABET)):
            top.pending[:0] = list(spec[0])
            return i + 1
        raise Fail(f"\\{top.macro} needs braces around \\{name} (which takes arguments)", tok.pos)

    def after_arg(self, top: Frame, i: int) -> int:
        if not top.pending:
            self.complete(top)
        return i

    def dimen(self, i: int, end: int, letter: str, macro: str) -> int:
        try:
            if letter == "d":
                return read_dimen(self.toks, i, end)
            if letter == "v":
                return read_glue(self.toks, i, end, mu=True)
            if letter == "n":
                return read_number(self.toks, i, end)
            return read_glue(self.toks, i, end)
        except DimenError as exc:
            raise Fail(f"{exc} in \\{macro}", self.pos(i)) from None

    def label_text(self, i: int, end: int, macro: str) -> None:
        for tok in self.toks[i:end]:
            if tok.kind == CS and tok.value not in M.LABEL_SAFE or (tok.kind == ACTIVE and tok.value == "~"):
                raise Fail(f"\\{macro}{{..}} cannot contain {tok.value}", tok.pos)
            if tok.kind in (PAR, PARAM, INVALID):
                raise Fail(f"\\{macro}{{..}} cannot contain {FIELD_BAD[tok.kind]}", tok.pos)

    def is_delimiter(self, tok: Token) -> bool:
        if tok.kind == CHAR:
            return tok.value in M.DELIM_CHARS
        return tok.kind == CS and tok.value in M.DELIMITERS
