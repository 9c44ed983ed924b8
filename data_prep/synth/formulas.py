"""Random LaTeX formulas built from the constructs documents use and models get wrong.

Display formulas: fractions, roots, sums, integrals, products, limits, matrices, cases, aligned, binomials,
accents and math fonts. Inline formulas: short symbols with scripts, accents, fonts, small fractions and
roots. Only macros in `KNOWN_MACROS` are ever written: each was checked to render correctly with the math
engine (ziamath) and to be plain amsmath/amssymb LaTeX. Whether a drawn formula is emitted is decided
afterwards by the renderer and the LaTeX checker (`synth_math.MathSource`).
"""
from __future__ import annotations

import random
from types import MappingProxyType

_LATIN = "abcdfghkmnpqrstuvwxyz"
_UPPER = "ABCDEFGHKLMNPQRSTUVWXZ"
_GREEK = (r"\alpha", r"\beta", r"\gamma", r"\delta", r"\epsilon", r"\theta", r"\lambda", r"\mu", r"\nu",
          r"\pi", r"\rho", r"\sigma", r"\tau", r"\phi", r"\psi", r"\omega", r"\xi", r"\eta", r"\kappa")
_GREEK_UPPER = (r"\Gamma", r"\Delta", r"\Theta", r"\Lambda", r"\Sigma", r"\Phi", r"\Psi", r"\Omega")
_ACCENTS = (r"\hat", r"\bar", r"\tilde", r"\vec", r"\dot", r"\ddot", r"\check")
_FONTS = (r"\mathbf", r"\mathrm", r"\mathcal", r"\mathbb", r"\mathit", r"\mathsf")
_FUNCS = (r"\sin", r"\cos", r"\tan", r"\log", r"\exp", r"\ln")
_RELS = ("=", r"\leq", r"\geq", r"\approx", r"\neq", r"\equiv", "<", ">")
_OPS = ("+", "-", r"\cdot", r"\times", r"\pm")
_MATRIX_ENVS = ("pmatrix", "bmatrix", "vmatrix")

# Every macro this module can write (tested by tests/data_prep/test_formulas.py against the generator).
KNOWN_MACROS = frozenset(
    {m.lstrip("\\") for m in _GREEK + _GREEK_UPPER + _ACCENTS + _FONTS + _FUNCS + _RELS + _OPS if m.startswith("\\")}
    | {"frac", "sqrt", "sum", "int", "prod", "lim", "to", "infty", "left", "right", "begin", "end", "text",
       "binom", "partial", "nabla", "in", "ldots", "cdots", "det", ","}
)


def _var(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.55:
        return rng.choice(_LATIN)
    if r < 0.85:
        return rng.choice(_GREEK)
    return rng.choice(_UPPER)


def atom(rng: random.Random, depth: int = 0, numbers: bool = True) -> str:
    """A variable, maybe with a subscript, superscript, accent or font; or a small number."""
    r = rng.random()
    if numbers and r < 0.12:
        return str(rng.randint(1, 99))
    base = _var(rng)
    r = rng.random()
    if r < 0.12 and not base.startswith("\\"):
        base = f"{rng.choice(_ACCENTS)}{{{base}}}"
    elif r < 0.2:
        base = f"{rng.choice(_FONTS)}{{{rng.choice(_UPPER)}}}"
    r = rng.random()
    if r < 0.25:
        base += f"_{{{rng.choice('ijknt0123')}}}"
    elif r < 0.4:
        base += f"^{{{rng.choice(['2', '3', 'n', 'k', '-1', 'T'])}}}"
    elif r < 0.48 and depth == 0:
        base += f"_{{{rng.choice('ijk')}}}^{{{rng.choice('2n')}}}"
    return base


def term(rng: random.Random, depth: int = 0) -> str:
    r = rng.random()
    if r < 0.5:
        return atom(rng, depth)
    if r < 0.7:
        return f"{rng.randint(2, 9)} {atom(rng, depth, numbers=False)}"  # never "6 89": TeX prints 689
    if r < 0.85:
        return f"{rng.choice(_FUNCS)}({atom(rng, depth)})"
    return f"{atom(rng, depth, numbers=False)} {atom(rng, depth, numbers=False)}"


def expr(rng: random.Random, depth: int = 0, max_terms: int = 3) -> str:
    parts = [term(rng, depth)]
    for _ in range(rng.randint(0, max_terms - 1)):
        parts.append(rng.choice(_OPS))
        parts.append(term(rng, depth))
    return " ".join(parts)


def frac(rng: random.Random, depth: int = 0) -> str:
    num = frac(rng, depth + 1) if depth < 1 and rng.random() < 0.12 else expr(rng, depth + 1, 2)
    return rf"\frac{{{num}}}{{{expr(rng, depth + 1, 2)}}}"


def root(rng: random.Random, depth: int = 0) -> str:
    inner = frac(rng, depth + 1) if depth < 1 and rng.random() < 0.2 else expr(rng, depth + 1, 2)
    if rng.random() < 0.25:
        return rf"\sqrt[{rng.choice('3n4')}]{{{inner}}}"
    return rf"\sqrt{{{inner}}}"


def _operand(rng: random.Random, depth: int = 0) -> str:
    r = rng.random()
    if r < 0.35:
        return frac(rng, depth)
    if r < 0.5:
        return root(rng, depth)
    if r < 0.58:
        return rf"\left( {frac(rng, depth)} \right)^{{{rng.choice('2n')}}}"
    return expr(rng, depth)


def _lhs(rng: random.Random) -> str:
    name = rng.choice(["f", "g", "h", "F", "L", "E", "P", r"\phi", r"\psi"])
    return f"{name}({rng.choice('xtnks')})" if rng.random() < 0.6 else atom(rng, numbers=False)


def _display_fraction(rng: random.Random) -> str:
    return f"{_lhs(rng)} {rng.choice(_RELS)} {frac(rng)}" + (f" {rng.choice(_OPS)} {term(rng)}" if rng.random() < 0.5 else "")


def _display_root(rng: random.Random) -> str:
    return f"{_lhs(rng)} = {root(rng)}"


def _display_sum(rng: random.Random) -> str:
    i = rng.choice("ijk")
    upper = rng.choice(["n", "N", r"\infty", "m", "K"])
    body = _operand(rng, 1) if rng.random() < 0.5 else f"{_var(rng)}_{{{i}}}"
    op = rng.choice([r"\sum", r"\sum", r"\prod"])
    rhs = f" = {_operand(rng)}" if rng.random() < 0.6 else ""
    return rf"{op}_{{{i}=1}}^{{{upper}}} {body}{rhs}"


def _display_integral(rng: random.Random) -> str:
    x = rng.choice("xtsu")
    lo, hi = rng.choice([("0", "1"), ("0", r"\infty"), ("a", "b"), (r"-\infty", r"\infty"), ("0", "T")])
    body = f"{_operand(rng, 1)}" if rng.random() < 0.5 else f"{rng.choice(_FUNCS)}({x})"
    rhs = f" = {_operand(rng)}" if rng.random() < 0.6 else ""
    return rf"\int_{{{lo}}}^{{{hi}}} {body} \, d{x}{rhs}"


def _display_limit(rng: random.Random) -> str:
    n = rng.choice("nkx")
    return rf"\lim_{{{n} \to \infty}} {_operand(rng, 1)} = {atom(rng)}"


def _display_matrix(rng: random.Random) -> str:
    rows, cols = rng.randint(2, 3), rng.randint(2, 3)
    env = rng.choice(_MATRIX_ENVS)
    body = r" \\ ".join(" & ".join(atom(rng, 1) for _ in range(cols)) for _ in range(rows))
    name = rng.choice([r"\mathbf{A}", "M", r"\Sigma", "J", r"\mathbf{R}"])
    if env == "vmatrix":
        return rf"\det({name}) = \begin{{vmatrix}} {body} \end{{vmatrix}}"
    return rf"{name} = \begin{{{env}}} {body} \end{{{env}}}"


def _display_cases(rng: random.Random) -> str:
    x = rng.choice("xtn")
    conditions = (">", "<", r"\geq", r"\leq")
    # Short branches: ziamath sizes the stretchy brace by laying the whole table out twice.
    branches = [(term(rng, 1), rf"\text{{if }} {x} {rng.choice(conditions)} {rng.randint(0, 9)}")
                for _ in range(rng.randint(1, 2))]
    branches.append((term(rng, 1), r"\text{otherwise}"))
    body = r" \\ ".join(f"{a} & {b}" for a, b in branches)
    return rf"{rng.choice('fgh')}({x}) = \begin{{cases}} {body} \end{{cases}}"


def _display_aligned(rng: random.Random) -> str:
    lines = [f"{_lhs(rng)} &= {_operand(rng)}"]
    for _ in range(rng.randint(1, 2)):
        lines.append(f"&= {_operand(rng)}")
    return r"\begin{aligned} " + r" \\ ".join(lines) + r" \end{aligned}"


def _display_binomial(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return r"P(X = k) = \binom{n}{k} p^{k} (1 - p)^{n - k}"
    return rf"\binom{{{rng.choice('nmN')}}}{{{rng.choice('k2r')}}} = {frac(rng)}"


def _display_fonts(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        dims = ("n", "d", r"n \times m")
        return rf"\mathbf{{{rng.choice('xyvw')}}} \in \mathbb{{{rng.choice('RCZN')}}}^{{{rng.choice(dims)}}}"
    if r < 0.6:
        return rf"\mathcal{{{rng.choice('LFHN')}}}(\theta) = {expr(rng)}"
    return rf"\nabla {rng.choice('fgL')} = {frac(rng)} + \partial_{{{rng.choice('xt')}}} {atom(rng)}"


def _display_accents(rng: random.Random) -> str:
    acc = [f"{rng.choice(_ACCENTS)}{{{rng.choice(_LATIN)}}}" for _ in range(rng.randint(2, 3))]
    return f"{acc[0]} = " + f" {rng.choice(_OPS)} ".join(acc[1:] + [term(rng)])


_DISPLAY_KINDS = MappingProxyType({
    "fraction": _display_fraction, "root": _display_root, "sum": _display_sum, "integral": _display_integral,
    "limit": _display_limit, "matrix": _display_matrix, "cases": _display_cases, "aligned": _display_aligned,
    "binomial": _display_binomial, "fonts": _display_fonts, "accents": _display_accents,
})
DISPLAY_KINDS = tuple(_DISPLAY_KINDS)
# How often each kind is drawn. Stretchy delimiters around tables (cases, matrices) and multi-line
# alignments cost ziamath 3–10× a plain formula (it lays a row out twice to size the delimiter), so those
# come a little less often; every kind stays common enough to be learned.
_KIND_WEIGHTS = MappingProxyType({"fraction": 1.3, "root": 1.0, "sum": 1.3, "integral": 1.2, "limit": 0.8, "matrix": 0.8,
                 "cases": 0.5, "aligned": 0.6, "binomial": 0.6, "fonts": 1.0, "accents": 0.9})


def display_formula(rng: random.Random, kind: str | None = None) -> str:
    kind = kind or rng.choices(DISPLAY_KINDS, [_KIND_WEIGHTS[k] for k in DISPLAY_KINDS])[0]
    return _DISPLAY_KINDS[kind](rng)


def inline_formula(rng: random.Random) -> str:
    """Short formulas that sit in a line of text."""
    r = rng.random()
    if r < 0.35:
        return atom(rng)
    if r < 0.55:
        return f"{atom(rng)} {rng.choice(_RELS)} {term(rng)}"
    if r < 0.65:
        return rf"\frac{{{atom(rng, 1)}}}{{{atom(rng, 1)}}}"
    if r < 0.72:
        return rf"\sqrt{{{atom(rng, 1)}}}"
    if r < 0.8:
        return rf"{atom(rng)} \in \mathbb{{{rng.choice('RNZC')}}}"
    if r < 0.88:
        return rf"{rng.choice(['O', 'f', 'g'])}({atom(rng, 1)})"
    return expr(rng, 1, 2)
