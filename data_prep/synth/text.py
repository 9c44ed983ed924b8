"""Random prose for synthetic pages: headings, sentences with inline formulas, list items, table words.

Text is drawn from a fixed vocabulary with no Markdown or HTML metacharacters (`$ < > & * _ # | \\ [ ]`),
so the ground truth needs no escaping and a `$` in it always delimits math. A sentence never starts with
a digit, so no paragraph line can be read as a Markdown list item.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

_WORDS = tuple("""
the of and to in is for that with as on by this are be from at or an which we it can not these their
model table results data method figure value total mean number section page report analysis sample test
time rate error input output layer text image document structure formula equation row column cell year
revenue cost price growth share market region group control study patient dose effect first second third
quarter annual summary notes appendix introduction conclusion theorem proof lemma definition where then
each over under between across within without during after before while although because however
therefore moreover thus hence also only both either neither more most less least many several few other
same different new old large small high low long short early late recent current previous next final
standard average median variance deviation estimate parameter variable function operator matrix vector
space set field group ring measure probability distribution density process signal noise filter system
network graph node edge path tree cluster feature weight bias gradient loss training validation baseline
experiment setting condition protocol procedure device instrument sensor channel frequency amplitude
phase energy power voltage current pressure temperature volume mass flow speed distance angle surface
material sample batch trial cohort survey response outcome measure index ratio factor score level range
interval bound limit order scale unit term series sequence pattern region boundary domain interior
observed expected reported measured computed derived proposed improved reduced increased decreased
stable robust efficient accurate consistent significant relative absolute linear nonlinear discrete
continuous uniform random fixed general specific local global partial complete direct inverse upper lower
inner outer primary secondary central regional national public private financial economic clinical
technical physical chemical biological statistical numerical theoretical empirical practical
shows gives yields holds follows remains becomes provides requires suggests indicates implies describes
compares summarizes reports lists contains includes exceeds approaches converges varies depends
""".split())

_HEADING_WORDS = tuple("""
Introduction Background Methods Results Discussion Conclusion Overview Summary Analysis Evaluation
Experiments Setup Data Model Training Inference Performance Limitations Appendix Notation Preliminaries
Theory Proofs Estimation Calibration Measurements Materials Procedure Findings Outlook Revenue Costs
Operations Outlook Segments Guidance Highlights Risks Governance Sustainability Methodology Sampling
Design Implementation Architecture Benchmarks Ablations Related Work Definitions Examples Applications
""".split())

_UNITS = ("%", " kg", " mm", " ms", " s", " Hz", " kHz", " V", " mA", " K", " m", " km", " USD", " EUR", "")


@dataclass(frozen=True)
class InlineMath:
    latex: str


Piece = str | InlineMath
Run = tuple[Piece, ...]  # text and inline formulas, in order, spaces already inside the text pieces
MathSource = Callable[[random.Random], str | None]  # draws a checked inline formula, or None


def word(rng: random.Random) -> str:
    return rng.choice(_WORDS)


def number(rng: random.Random) -> str:
    """A number as tables and reports print them: integers, decimals, thousands separators, signs, units."""
    kind = rng.randrange(7)
    if kind == 0:
        return str(rng.randint(0, 999))
    if kind == 1:
        return f"{rng.randint(1000, 999999):,}"
    if kind == 2:
        return f"{rng.uniform(0, 100):.{rng.randint(1, 3)}f}"
    if kind == 3:
        return f"{rng.uniform(-50, 50):+.1f}"
    if kind == 4:
        return f"{rng.uniform(0, 100):.1f}%"
    if kind == 5:
        return str(rng.randint(1950, 2030))
    return f"{rng.uniform(0, 1):.3f}"


def quantity(rng: random.Random) -> str:
    """A number in running text, half of the time with a unit."""
    if rng.random() < 0.5:
        return f"{rng.uniform(0, 500):.{rng.randint(0, 2)}f}{rng.choice(_UNITS)}"
    return number(rng)


def heading_text(rng: random.Random, numbered: str = "") -> str:
    words = [rng.choice(_HEADING_WORDS)]
    for _ in range(rng.randint(0, 3)):
        words.append(rng.choice(("and", "of", "for", "in")) if rng.random() < 0.3 else word(rng).capitalize())
    if words[-1] in ("and", "of", "for", "in"):
        words.pop()
    return f"{numbered} {' '.join(words)}".strip()


def sentence(rng: random.Random, math_prob: float = 0.0, math: MathSource | None = None) -> Run:
    """One sentence: capitalised, 5–22 words, commas, numbers with units, maybe one inline formula."""
    n = rng.randint(5, 22)
    tokens: list[Piece] = []
    for i in range(n):
        if i > 0 and rng.random() < 0.08:
            tokens.append(quantity(rng))
        else:
            tokens.append(word(rng))
        if 0 < i < n - 1 and rng.random() < 0.06:
            tokens[-1] = f"{tokens[-1]},"
    if math is not None and rng.random() < math_prob:
        latex = math(rng)
        if latex is not None:
            tokens.insert(rng.randint(1, len(tokens)), InlineMath(latex))
    first = tokens[0]
    assert isinstance(first, str)
    tokens[0] = first[0].upper() + first[1:]
    return _join(tokens, end=".")


def list_item(rng: random.Random, math_prob: float = 0.0, math: MathSource | None = None) -> Run:
    """A list item: a short phrase or a full sentence."""
    if rng.random() < 0.5:
        words = [word(rng) for _ in range(rng.randint(2, 8))]
        words[0] = words[0].capitalize()
        return (" ".join(words),)
    return sentence(rng, math_prob, math)


def cell_text(rng: random.Random) -> str:
    """A text cell: one to four words, sometimes capitalised."""
    words = [word(rng) for _ in range(rng.randint(1, 4) if rng.random() < 0.7 else 1)]
    if rng.random() < 0.6:
        words[0] = words[0].capitalize()
    return " ".join(words)


def _join(tokens: list[Piece], end: str) -> Run:
    """Space-separated tokens, the sentence end glued to the last token; adjacent text merged."""
    out: list[Piece] = []
    for i, tok in enumerate(tokens):
        sep = " " if i > 0 else ""
        if isinstance(tok, InlineMath):
            out.append(sep)
            out.append(tok)
        else:
            out.append(sep + tok)
    out.append(end)
    merged: list[Piece] = []
    for piece in out:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif piece != "":
            merged.append(piece)
    return tuple(merged)


def run_markdown(run: Run) -> str:
    """The run as the output convention writes it: inline math as `$…$`."""
    return "".join(p if isinstance(p, str) else f"${p.latex}$" for p in run)

