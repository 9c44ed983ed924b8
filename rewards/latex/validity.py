"""Would this LaTeX compile? `check_latex` answers as pdflatex would for `\\[ <latex> \\]` in an article with
amsmath and amssymb loaded, without TeX: a tokeniser with TeX's catcodes (latex_tokens), a table of what
LaTeX, amsmath and amssymb define and how each command takes its arguments (latex_macros, latex_names),
and the structural rules of math mode, implemented here as a pushdown automaton over the tokens.

Checked: brace balance and TeX's 255 grouping levels; \\left/\\middle/\\right pairing and delimiters;
\\begin/\\end pairing, the environments allowed in display math, column counts against the array
preamble (or amsmath's limits), \\hline/\\cline/\\multicolumn placement; missing or malformed arguments
(a macro at the end, before `}`, or given an argument-taking macro bare); unknown macros; ^/_ without an
argument, double super/subscripts (primes included); `&`, `\\\\` and `\\cr` outside their alignment cell;
`$`, `#` and blank lines in math; math-only commands in text (\\text, \\mbox, ...) and text-only ones in
math; \\limits after a non-operator; two \\over in one group; more than one \\label or \\tag; dimensions
and glue where TeX reads them; undefined Unicode characters.

Bounds: inputs over MAX_CHARS characters are refused without parsing ("too long"); everything else is
one tokenising pass plus one pass of the automaton over at most MAX_CHARS tokens (no backtracking, no
recursion: nesting lives on an explicit stack), so the time is linear in the input. check_latex never
raises: an unexpected internal error is reported as not ok with its reason.
"""
from __future__ import annotations

from dataclasses import dataclass

from rewards.latex.structure import Fail, Parser
from rewards.latex.tokens import tokenize

MAX_CHARS = 100_000  # pdflatex's own line buffer is 200,000 characters; no real formula comes near


@dataclass(frozen=True)
class LatexCheck:
    ok: bool
    reason: str | None = None


_OK = LatexCheck(True, None)


def check_latex(latex: str) -> LatexCheck:
    """Would `\\[ latex \\]` compile with pdflatex (article, amsmath, amssymb)? Never raises.

    The formula is read as `\\[<latex>\\]`: a line break right after `\\[` or before `\\]` is harmless,
    a blank line (a paragraph break) is an error, as TeX refuses \\par in math outside arrays.
    """
    if not isinstance(latex, str):
        return LatexCheck(False, f"not a string: {type(latex).__name__}")
    if len(latex) > MAX_CHARS:
        return LatexCheck(False, f"too long to check: {len(latex)} characters (limit {MAX_CHARS})")
    try:
        Parser(tokenize(latex)).run()
    except Fail as fail:
        return LatexCheck(False, fail.reason)
    except RecursionError:  # the parser does not recurse; this guards future changes
        return LatexCheck(False, "nesting too deep to check")
    except Exception as exc:  # noqa: BLE001 - a reward must never crash on model output
        return LatexCheck(False, f"checker error ({type(exc).__name__}): {exc}")
    return _OK


def formula_validity_score(formulas: list[str]) -> float:
    """Share of `formulas` that compile (1.0 when there are none), in [0, 1]."""
    if not formulas:
        return 1.0
    return sum(1 for latex in formulas if check_latex(latex).ok) / len(formulas)


__all__ = ["LatexCheck", "check_latex", "formula_validity_score", "MAX_CHARS"]
