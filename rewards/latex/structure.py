"""The automaton behind check_latex: one pass over the tokens with an explicit stack of frames.

A frame is an open group: the display itself, a `{...}` group or macro argument, an optional `[...]`
argument, a \\left...\\right pair, an environment (whose cells are tracked), or `$...$` inside text.
Each math frame remembers its current atom (for double scripts and \\limits) and its \\over count; a
frame collecting a macro's arguments keeps the argument kinds still to read in `pending`.
Argument kinds: see latex_macros (v: mu glue). Reading arguments, environments and the special
commands live in the mixins latex_arguments, latex_alignment and latex_specials.
"""
from __future__ import annotations

from rewards.latex import macros as M
from rewards.latex.specials import SpecialsMixin
from rewards.latex.state import (
    ARG, ENV, GROUP, INLINE, LEFT, MATH, MAX_GROUP_DEPTH, MAX_STACK, OPT, ROOT, TEXT, FIELD_BAD, Fail, Frame)
from rewards.latex.tokens import (
    ACTIVE, ALIGN, BGROUP, CHAR, CS, EGROUP, MATHSHIFT, PAR, PARAM, SUB, SUP, Token)


class Parser(SpecialsMixin):
    def __init__(self, toks: list[Token]) -> None:
        self.toks = toks
        self.n = len(toks)
        self.match = self._match_braces()
        self._next_close: list[int] | None = None
        self.stack = [Frame(ROOT, MATH, 0)]
        self.opt_ends: list[int] = []  # ends of open [..] arguments, innermost last
        self.labels = 0
        self.tags = 0
        self.envs = 0  # environments on the stack
        self.args = 0  # argument frames on the stack (\verb is refused inside them)
        self.user: dict[str, tuple[str, int, int, bool]] = {}  # macros defined in the formula

    # ----------------------------------------------------------------- set-up
    def _match_braces(self) -> list[int]:
        match = [-1] * self.n
        opened: list[int] = []
        for i, tok in enumerate(self.toks):
            if tok.kind == BGROUP:
                opened.append(i)
                if len(opened) > MAX_GROUP_DEPTH:
                    raise Fail("braces nested deeper than TeX's 255 grouping levels", tok.pos)
            elif tok.kind == EGROUP:
                if not opened:
                    raise Fail("unbalanced braces: } without {", tok.pos)
                match[opened.pop()] = i
        if opened:
            raise Fail("unbalanced braces: { never closed", self.toks[opened[-1]].pos)
        return match

    def next_close_bracket(self, i: int) -> int:
        """Index of the `]` that ends an optional argument opened at i (same brace level), or -1."""
        if self._next_close is None:
            nxt = [-1] * self.n
            saved: list[int] = []
            cur = -1
            for j in range(self.n - 1, -1, -1):
                tok = self.toks[j]
                if tok.kind == EGROUP:
                    saved.append(cur)
                    cur = -1
                elif tok.kind == BGROUP:
                    cur = saved.pop() if saved else -1
                else:
                    nxt[j] = cur
                    if tok.kind == CHAR and tok.value == "]":
                        cur = j
            self._next_close = nxt
        close = self._next_close[i]
        if close < 0 or (self.opt_ends and close >= self.opt_ends[-1]):
            return -1
        return close

    def pos(self, i: int) -> int:
        return self.toks[i].pos if i < self.n else (self.toks[-1].pos + 1 if self.toks else 0)

    # ----------------------------------------------------------------- frames
    def push(self, kind: int, mode: int, i: int, end: int = -1, name: str = "") -> Frame:
        if len(self.stack) >= MAX_STACK:
            raise Fail("nesting too deep", self.pos(i))
        frame = Frame(kind, mode, self.pos(i), end, name)
        self.stack.append(frame)
        if kind in (ARG, OPT):
            self.args += 1
        if kind == OPT:
            self.opt_ends.append(end)
        return frame

    def pop(self, i: int) -> None:
        frame = self.stack.pop()
        if frame.kind in (ARG, OPT):
            self.args -= 1
        if frame.kind == OPT:
            self.opt_ends.pop()
        if frame.kind == ENV:
            self.envs -= 1
        parent = self.stack[-1]
        if frame.kind in (GROUP, LEFT, ENV) and parent.mode == MATH:
            self.new_atom(parent, 1)
        if parent.macro and not parent.pending:
            self.complete(parent)

    def unclosed(self, frame: Frame, what: str, i: int) -> Fail:
        if frame.kind == LEFT:
            return Fail(f"\\left at {frame.pos} has no \\right before {what}", self.pos(i))
        if frame.kind == ENV:
            return Fail(f"\\begin{{{frame.name}}} at {frame.pos} not ended before {what}", self.pos(i))
        if frame.kind == INLINE:
            return Fail(f"$ at {frame.pos} not closed before {what}", self.pos(i))
        if frame.macro:
            return Fail(f"missing argument for \\{frame.macro} before {what}", self.pos(i))
        return Fail(f"group at {frame.pos} not closed before {what}", self.pos(i))

    @staticmethod
    def new_atom(frame: Frame, atom: int) -> None:
        frame.atom, frame.sup, frame.sub = atom, False, False

    def complete(self, frame: Frame) -> None:
        """The macro in `frame` has all its arguments: leave its result behind."""
        result = frame.result
        frame.macro = ""
        if result == M.ORD or result == M.OP:
            self.new_atom(frame, 1 if result == M.ORD else 2)
        elif result == M.RESET:
            self.new_atom(frame, 0)

    # ----------------------------------------------------------------- main loop
    def run(self) -> None:
        toks, stack = self.toks, self.stack
        i = 0
        while i < self.n:
            top = stack[-1]
            if self.opt_ends and i == self.opt_ends[-1]:
                if top.kind != OPT:
                    raise self.unclosed(top, "]", i)
                if top.pending:
                    raise Fail(f"missing argument for \\{top.macro} before ]", self.pos(i))
                self.pop(i)
                i += 1
                continue
            if top.pending:
                i = self.take_arg(top, i)
                continue
            tok = toks[i]
            kind = tok.kind
            if top.kind == ENV and not (kind == CS and tok.value in M.CELL_START_OK):
                top.cell = True
            if kind == CHAR:
                i = self.on_char(top, tok, i)
            elif kind == CS:
                i = self.on_cs(top, tok, i)
            elif kind == BGROUP:
                self.push(GROUP, top.mode, i, self.match[i])
                i += 1
            elif kind == EGROUP:
                if top.kind not in (GROUP, ARG) and top.end != i:
                    raise self.unclosed(top, "}", i)
                self.pop(i)
                i += 1
            elif kind == SUP or kind == SUB:
                i = self.on_script(top, tok, i)
            elif kind == ACTIVE:
                self.check_char(top.mode, tok)
                if top.mode == MATH:
                    self.new_atom(top, 1)
                i += 1
            elif kind == ALIGN:
                self.on_align(top, i)
                i += 1
            elif kind == MATHSHIFT:
                i = self.on_mathshift(top, i)
            elif kind == PAR:
                if not self.par_is_empty():
                    raise Fail("blank line (paragraph break) inside the formula", tok.pos)
                i += 1
            elif kind == PARAM:
                raise Fail("macro parameter character # outside a definition", tok.pos)
            else:
                raise Fail(f"invalid character {tok.value!r}", tok.pos)
        top = stack[-1]
        if top.pending and set(top.pending) <= set("usoRD"):  # optional, or taken from what follows \]
            top.pending = []
            self.complete(top)
        if top.pending or top.macro:
            raise Fail(f"missing argument for \\{top.macro} at the end of the formula", self.pos(self.n))
        if len(stack) > 1:
            raise self.unclosed(top, "the end of the formula", self.n)

    def par_is_empty(self) -> bool:
        """LaTeX's array (and so tabular, the matrices, cases) makes \\par do nothing inside it; a blank
        line in the argument of a text command still ends that argument."""
        for frame in reversed(self.stack):
            if frame.kind == ENV:
                return frame.env.array_based or frame.name == "minipage"
            if frame.kind in (ARG, OPT) and frame.mode == TEXT:
                return False
        return False

    # ----------------------------------------------------------------- token handlers
    def on_char(self, top: Frame, tok: Token, i: int) -> int:
        if top.mode != MATH:
            return i + 1
        if tok.value == "'":
            return self.on_prime(top, i)
        self.new_atom(top, 1)
        return i + 1

    @staticmethod
    def check_char(mode: int, tok: Token) -> None:
        char = tok.value
        if char == "~":
            return
        allowed = M.MATH_UNICODE if mode == MATH else M.TEXT_UNICODE
        if char not in allowed:
            where = "math" if mode == MATH else "text"
            if char in M.MATH_UNICODE or char in M.TEXT_UNICODE:
                raise Fail(f"character {char!r} (U+{ord(char):04X}) not allowed in {where} mode", tok.pos)
            raise Fail(f"Unicode character {char!r} (U+{ord(char):04X}) not set up for LaTeX", tok.pos)

    def on_prime(self, top: Frame, i: int) -> int:
        """' is a superscript \\prime; following primes and one ^ join the same superscript."""
        if top.sup:
            raise Fail("double superscript (prime after a superscript)", self.pos(i))
        if top.atom == 0:
            top.atom = 1
        top.sup = True
        i += 1
        while i < self.n and self.toks[i].kind == CHAR and self.toks[i].value == "'":
            i += 1
        if i < self.n and self.toks[i].kind == SUP:
            # LaTeX's prime macro reads the ^ and the next token as a macro argument, then braces it
            top.pending, top.macro, top.mpos, top.result = ["m"], "prime", self.pos(i), M.KEEP
            return i + 1
        return i

    def on_script(self, top: Frame, tok: Token, i: int) -> int:
        if top.mode != MATH:
            raise Fail(f"{tok.value} outside math (in text)", tok.pos)
        if tok.kind == SUP:
            if top.sup:
                raise Fail("double superscript", tok.pos)
            top.sup = True
        else:
            if top.sub:
                raise Fail("double subscript", tok.pos)
            top.sub = True
        if top.atom == 0:
            top.atom = 1
        return self.script_field(top, i + 1, tok.value)

    def script_field(self, top: Frame, i: int, what: str) -> int:
        """The math field after ^ or _ (or given to a field argument such as \\sqrt's)."""
        if i >= self.n:
            raise Fail(f"{what} without an argument at the end of the formula", self.pos(i))
        tok = self.toks[i]
        kind = tok.kind
        if kind == BGROUP:
            self.push(ARG, MATH, i, self.match[i])
            return i + 1
        if kind == CHAR and tok.value != "'":  # ', ~ and UTF-8 characters are active: no math field
            return i + 1
        if kind == CS:
            spec = self.lookup(tok.value, tok.pos)
            if not spec[3]:
                raise Fail(f"{what} followed by \\{tok.value} needs braces", tok.pos)
            self.check_mode(top, tok.value, spec, tok.pos)
            if spec[0]:
                top.pending = list(spec[0])
                top.macro, top.mpos, top.result = tok.value, tok.pos, M.KEEP
            return i + 1
        raise Fail(f"{what} without an argument (followed by {FIELD_BAD.get(kind, tok.value)})", tok.pos)

    def on_align(self, top: Frame, i: int) -> None:
        if top.kind == ENV:
            top.col += 1
            top.cell = False
            if top.cols and top.col >= top.cols:
                raise Fail(f"too many & for {{{top.name}}} ({top.cols} columns)", self.pos(i))
            self.new_atom(top, 0)
            top.over = 0
            return
        if self.envs:
            raise Fail("& inside a group or \\left of an alignment cell", self.pos(i))
        raise Fail("& outside an alignment environment", self.pos(i))

    def on_mathshift(self, top: Frame, i: int) -> int:
        if top.mode == TEXT:
            self.push(INLINE, MATH, i, name="$")
            return i + 1
        if top.kind == INLINE and top.name == "$":
            self.pop(i)
            return i + 1
        if any(frame.kind == INLINE for frame in self.stack):
            raise self.unclosed(top, "$", i)
        raise Fail("$ inside display math", self.pos(i))

    # ----------------------------------------------------------------- macros
    def lookup(self, name: str, pos: int) -> tuple[str, int, int, bool]:
        spec = self.user[name] if name in self.user else M.MACROS.get(name)
        if spec is None:
            message = M.ERRORS.get(name)
            if message:
                raise Fail(f"\\{name}: {message}", pos)
            raise Fail(f"unknown macro \\{name}", pos)
        return spec

    def check_mode(self, top: Frame, name: str, spec: tuple[str, int, int, bool], pos: int) -> None:
        if not spec[1] & top.mode:
            where = "math" if top.mode == MATH else "text"
            raise Fail(f"\\{name} is not allowed in {where} mode", pos)

    def on_cs(self, top: Frame, tok: Token, i: int) -> int:
        name = tok.value
        handler = self.SPECIALS.get(name)
        if handler is not None and name not in self.user:
            return handler(self, top, tok, i)
        spec = self.lookup(name, tok.pos)
        self.check_mode(top, name, spec, tok.pos)
        args, _, result, _ = spec
        if result >= M.ACCENT:
            result = M.ORD
        if args:
            top.pending = list(args)
            top.macro, top.mpos, top.result = name, tok.pos, result
        elif top.mode == MATH:
            self.complete_simple(top, result)
        return i + 1

    def complete_simple(self, top: Frame, result: int) -> None:
        if result == M.ORD:
            self.new_atom(top, 1)
        elif result == M.OP:
            self.new_atom(top, 2)
        elif result == M.RESET:
            self.new_atom(top, 0)
