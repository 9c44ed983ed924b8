"""check_latex: agreement with pdflatex on real formulas, hand-made cases per category, and robustness.

Every hand case's expected verdict is what pdflatex (TeX Live 2022, article + amsmath + amssymb, the
formula inside `\\[ ... \\]`, -halt-on-error) said about it; none is a guess.
"""
from __future__ import annotations

import dataclasses
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewards.latex.validity import MAX_CHARS, LatexCheck, check_latex, formula_validity_score

OK, ERR = True, False

CASES: dict[str, list[tuple[str, bool]]] = {
    "braces": [
        (r"{a}", OK), (r"{{}}", OK), (r"{", ERR), (r"}", ERR), (r"}{", ERR), (r"x^{2", ERR), (r"\sqrt{x", ERR),
        (r"a \{ b", OK), (r"\{ a \} \}", OK), (r"{\begin{array}{c} a } \end{array}", ERR),
    ],
    "left_right": [
        (r"\left( a \right)", OK), (r"\left( a", ERR), (r"a \right)", ERR), (r"\left x \right)", ERR),
        (r"\left< a \right>", OK), (r"\left. x \right|_{0}^{1}", OK), (r"\left\{ x \right\}", OK),
        (r"\left\langle x \right\rangle", OK), (r"\left\| x \right\|", OK), (r"\left\lfloor x \right\rfloor", OK),
        (r"\left( x \middle| y \right)", OK), (r"\middle| a", ERR), (r"\left( a {\middle|} \right)", ERR),
        (r"{\left( a } \right)", ERR), (r"\left( \frac{a}{b} \right", ERR), (r"\left\alpha a \right.", ERR),
        (r"\left{ a \right.", ERR), (r"\left(\begin{array}{cc} 1 & 2 \\ 3 & 4 \right)\end{array}", ERR),
        (r"\bigl( x \bigr)", OK), (r"\biggl\{ x \biggr\}", OK), (r"\big x", ERR), (r"x^\big(", OK),
    ],
    "environments": [
        (r"\begin{aligned} f(x) &= x^2 \\ &= y \end{aligned}", OK),
        (r"\begin{aligned} f(x) &= x^2 \\ &= y \end{align}", ERR),
        (r"\begin{pmatrix} a & b \\ c & d", ERR), (r"\begin{pmatrix} a & b \\ c & d \end{pmat", ERR),
        (r"a \end{pmatrix}", ERR), (r"\begin{foo} a \end{foo}", ERR), (r"\begin{align} a \end{align}", ERR),
        (r"\begin{equation*} a \end{equation*}", ERR), (r"\begin{center} a \end{center}", ERR),
        (r"\begin{bmatrix*} a \end{bmatrix*}", ERR), (r"\begin{cases} 1 & x > 0 \\ 0 & \text{otherwise} \end{cases}", OK),
        (r"\begin{split} a &= b \\ c &= d \end{split}", OK), (r"\begin{tabular}{cc} a & b \end{tabular}", OK),
        (r"\begin{tabular}{c} a^b \end{tabular}", ERR), (r"\begin{minipage}{2cm} a \end{minipage}", OK),
        (r"\begin{array} a \end{array}", ERR), (r"\begin{array}{x} a \end{array}", ERR),
        (r"\begin{array}{} a \end{array}", ERR), (r"\begin{array}{p{2cm}} a \end{array}", OK),
        (r"\begin{array}{m{1cm}} a \end{array}", ERR), (r"\begin{array}{*{3}{c}} a & b & c \end{array}", OK),
        (r"\begin{array}{c@{}c} a & b \end{array}", OK), (r"\begin{array}[t]{c} a \end{array}", OK),
        (r"\begin{array}{c} \begin{array}{c} a \\ b \end{array} \\ c \end{array}", OK),
        (r"\matrix{a & b \cr c & d}", ERR), (r"\pmatrix{a & b}", ERR), (r"\cases{a & b}", ERR),
    ],
    "columns": [
        (r"\begin{array}{cc} a & b & c \end{array}", ERR), (r"\begin{array}{*{3}{c}} a & b & c & d \end{array}", ERR),
        (r"\begin{matrix} 1&2&3&4&5&6&7&8&9&10 \end{matrix}", OK),
        (r"\begin{matrix} 1&2&3&4&5&6&7&8&9&10&11 \end{matrix}", ERR),
        (r"\begin{cases} a & b & c \end{cases}", ERR), (r"\begin{gathered} a & b \end{gathered}", ERR),
        (r"\begin{split} a &= b & c \end{split}", ERR), (r"\begin{aligned} a &= b & c &= d & e \end{aligned}", OK),
        (r"\substack{a \\ b}", OK), (r"\substack{a & b}", ERR),
        (r"\begin{array}{cc} a & \multicolumn{1}{c}{b} \end{array}", OK),
        (r"\begin{array}{cc} \multicolumn{2}{c}{b} & c \end{array}", ERR),
        (r"\begin{array}{cc} x\multicolumn{2}{c}{a} \end{array}", ERR),
        (r"\begin{array}{cc} a & b \\ \hline c & d \end{array}", OK), (r"\begin{array}{cc} a & \hline b \end{array}", ERR),
        (r"a \hline b", ERR), (r"\begin{array}{cc} a & b \\ \cline{1} c & d \end{array}", ERR),
    ],
    "alignment_marks": [
        (r"a & b", ERR), (r"a \cr b", ERR), (r"a \\ b \\ c", OK), (r"a \\[2pt] b", OK), (r"a\\[x]b", ERR),
        (r"{a \\ b}", OK), (r"\begin{array}{c} {a \\ b} \end{array}", ERR),
        (r"\begin{array}{c} \text{a \\ b} \end{array}", ERR), (r"\begin{array}{cc} \left( a & b \right) \end{array}", ERR),
        (r"\begin{array}{c} a \\ [b] \end{array}", ERR), (r"\begin{pmatrix} a \\ [b] \end{pmatrix}", OK),
        (r"\begin{pmatrix} a \\[b] \end{pmatrix}", ERR), (r"\text{a & b}", ERR),
    ],
    "arguments": [
        (r"\frac{a}{b}", OK), (r"\frac{a}", ERR), (r"\frac a", ERR), (r"\frac", ERR), (r"\frac12", OK),
        (r"\frac{a}{b", ERR), (r"\sqrt", ERR), (r"\sqrt{}", OK), (r"\sqrt[n]", ERR), (r"\sqrt[n]{x}", OK),
        (r"\sqrt[n{x}", ERR), (r"\binom{n}", ERR), (r"\hat", ERR), (r"\hat{}", OK), (r"\mbox", ERR),
        (r"\frac\alpha\beta", OK), (r"\frac\mathrm{d}x", ERR), (r"\frac\sqrt23", ERR), (r"\sqrt\frac12", OK),
        (r"\hat\hat x", OK), (r"\bar\mathcal V", ERR), (r"\hat\mathbf{x}", ERR), (r"\mathbf\mathcal{A}", OK),
        (r"\mathbf\hat x", ERR), (r"\overline\frac12", ERR), (r"\mathop\frac12", OK), (r"\text\mbox{a}", ERR),
        (r"\hspace{1cm}", OK), (r"\hspace{1}", ERR), (r"\hspace{cm}", ERR), (r"\hspace{}", ERR),
        (r"\hspace{-.5em}", OK), (r"\hspace{16384pt}", ERR), (r"\hskip 0pt plus 1fill", OK), (r"\kern", ERR),
        (r"\kern3mu", ERR), (r"\mkern3pt", ERR), (r"\mkern3mu", OK), (r"\rule{1pt}", ERR), (r"\raise1pt a", ERR),
        (r"\label", ERR), (r"\label{\alpha}", ERR), (r"\begin", ERR), (r"\begin{", ERR),
        (r"\hspace{2ex x}", OK), (r"\hspace{2ex_}", ERR), (r"\rule{1ptx}{1pt}", OK), (r"\bar\over g", OK),
        (r"\sqrt\over", ERR), (r"\frac\over a", ERR), (r"\frac\\ab", OK), (r"\sqrt\\", ERR),
        (r"\dot{a\hat}", OK), (r"{a\hat}", ERR), (r"\dot{a\frac}", ERR), (r"\do\foo", OK), (r"\do", ERR),
        ("\\frac \u00e9 a", ERR), ("\\frac{\u00d7}{a}", OK), ("x^\u00d7", ERR), ("\\label{\u03b1FP}", OK),
        ("\\label\u03b1{x}", ERR), (r"\label{a~b}", ERR), (r"\char 300", ERR), (r"\mathchar\"8000", ERR),
        (r"\genfrac{}{}{x}{}{a}{b}", ERR), (r"\begin{array}{*2c} a & b \end{array}", OK),
        (r"\begin{subarray}{cc} a & b \end{subarray}", ERR), (r"\text{\ensuremath\hat{a}}", ERR),
        (r"\ensuremath\hat{a}", OK), (r"\let\x\foo \x", ERR), (r"\newcommand{\x}[2]{#1+#2} \x{a}{b}", OK),
        (r"\newcommand{\alpha}{a}", ERR),
    ],
    "unknown_macros": [
        (r"\alpha + \betta = \gamma", ERR), (r"\foo{x}", ERR), (r"\Alpha", ERR), (r"\R \N \Z", ERR),
        (r"\lt \gt", ERR), (r"\mathscr{L}", ERR), (r"\color{red}{x}", ERR), (r"\cancel{x}", ERR), (r"\sgn", ERR),
        (r"\infty \partial \nabla \hbar \ell \Re \Im \aleph", OK), (r"\leqslant \geqslant \lesssim \gtrsim", OK),
        (r"\varlimsup \varliminf", OK), (r"\square \blacksquare \checkmark", OK), (r"\S \P \copyright \pounds", OK),
        (r"\intf(\theta)", ERR), (r"\iddots", ERR), (r"\DeclareMathOperator{\tr}{tr}", ERR),
    ],
    "scripts": [
        (r"E = mc^2", OK), (r"E = mc^", ERR), (r"E = mc_", ERR), (r"x__y", ERR), (r"^x", OK), (r"a^}", ERR),
        (r"a^b^c", ERR), (r"a^b_c^d", ERR), (r"a_{i}_{j}", ERR), (r"a_{i,j}^{(k)}", OK), (r"x''' + y'", OK),
        (r"a'^2", OK), (r"a^2'", ERR), (r"f^2'(x)", ERR), (r"a\,^2^3", ERR), (r"a^2{}^3", OK),
        (r"a^2\relax^3", ERR), (r"a^2\displaystyle^3", OK), (r"x^\frac12", OK), (r"x^\sqrt2", ERR),
        (r"x^\mathrm{T}", OK), (r"x^\text{T}", OK), (r"x^\hat a", ERR), (r"x^\sum", ERR), (r"x^\alpha", OK),
        (r"x^\left(", ERR), (r"x^\operatorname{T}", ERR), (r"x^^41", OK), (r"x'^'", OK), (r"x^'", ERR),
        (r"x^~", ERR), (r"x_i'^2", OK), (r"\sp 2", OK), (r"a\sp 2\sp 3", ERR),
    ],
    "limits_and_fractions": [
        (r"\sum\limits_a^b", OK), (r"\sum_a\limits^b", OK), (r"x\limits", ERR), (r"{\sum}\limits", ERR),
        (r"\sum\!\limits", ERR), (r"\int\limits_a^b", OK), (r"\sin\limits", OK), (r"\operatorname*{x}\limits", OK),
        (r"\left(\right)\limits", ERR), (r"x \over y", OK), (r"x \over y \over z", ERR),
        (r"{a \over b} \over c", OK), (r"\frac{a\over b}{c}", ERR), (r"\frac{{a\over b}}{c}", OK),
        (r"\stackrel{a\over b}{c}", OK), (r"n \above 1pt k", OK), (r"n \above k", ERR),
        (r"n \overwithdelims() k", OK), (r"\buildrel \rm def \over =", OK), (r"\buildrel a", ERR),
    ],
    "labels_and_tags": [
        (r"\label{eq:1} a = b", OK), (r"\label{eq:1} a = b \label{eq:2}", ERR), (r"\tag{1} a = b", OK),
        (r"\tag{1} a \tag{2}", ERR), (r"\begin{aligned} a \tag{1} \end{aligned}", ERR),
        (r"\begin{array}{c} a \tag{1} \end{array}", OK), (r"\tag{a_b}", ERR), (r"\tag{$a$}", OK),
        (r"\label{a b_c}", OK), (r"\nonumber a", OK), (r"\label x", ERR), (r"\label]{Q3}", ERR),
        (r"\label{]}", OK), (r"\label'{x}", ERR),
    ],
    "modes": [
        (r"\text{for all } x \in \mathbb{R}", OK), (r"\text{if $x>0$}", OK), (r"\text{if x^2>0}", ERR),
        (r"\text{\alpha}", ERR), (r"\mbox{$\alpha$}", OK), (r"\mbox{$a$ $}", ERR), (r"\text{$a}", ERR),
        (r"\text{\(a\)}", OK), (r"\text{\[a\]}", ERR), (r"\textbf{a^b}", ERR), (r"\hbox{a^b}", ERR),
        (r"\hbox to 3pt{a}", OK), (r"\mathbf{\text{a}}", OK), (r"\text{\textbf{a}}", OK), (r"\'e", ERR),
        (r"\b x", OK), (r"\textasciitilde", ERR), (r"\@", ERR), (r"a $ b $", ERR), (r"a # b", ERR),
        (r"\rm abc", OK), (r"{\cal L}", OK), (r"\text{\cal a}", OK), (r"\boldmath a", OK), (r"\verb|a|", OK),
        (r"\frac{\verb|a|}{b}", ERR),
    ],
    "characters": [
        ("a\nb", OK), ("a\n\nb", ERR), ("a\r\rb", ERR), ("a\tb", OK), ("a\x00b", ERR), ("a\x01b", ERR),
        ("a\x7fb", ERR), ("a\x0cb", ERR), ("a % comment\nb", OK), ("a%x\n\nb", ERR), ("é", ERR),
        (r"\text{é}", OK), ("α", ERR), (r"\text{α}", ERR), ("x\u2212y", ERR), ("\u00a7", OK), ("\u00d7", OK),
    ],
    "truncation": [
        (r"\sum_{i=1}^{n} i = \frac{n(n+1)}{", ERR), (r"\sum_{i=1}^", ERR), (r"\sum_{i=1}^{n", ERR),
        (r"\int_0^\infty e^{-x} \, d", OK), (r"\text{for all } x \in \mathbb{R", ERR),
        (r"\begin{array}{cc} a & b \\ c & d \end{array", ERR), (r"\left(\begin{array}{cc} 1 & 2 \\ 3 & 4 \end{array}\right", ERR),
        (r"\begin{array}{c}", ERR), (r"\frac{1}", ERR), (r"x\hspace{1em y", ERR),
    ],
}


@pytest.mark.parametrize(("latex", "expected"), [case for cases in CASES.values() for case in cases],
                         ids=[f"{cat}-{i}" for cat, cases in CASES.items() for i in range(len(cases))])
def test_hand_case_matches_pdflatex(latex: str, expected: bool) -> None:
    result = check_latex(latex)
    assert result.ok is expected, f"{latex!r}: {result.reason}"
    assert (result.reason is None) is expected


def test_fixture_agreement_with_pdflatex(shared_fixtures) -> None:
    rows = [json.loads(line) for line in (shared_fixtures / "im2markup" / "formulas_labelled.jsonl").read_text().splitlines()]
    agree = sum(check_latex(r["latex"]).ok == r["pdflatex_ok"] for r in rows)
    assert len(rows) == 1197
    disagree = [r["latex"] for r in rows if check_latex(r["latex"]).ok != r["pdflatex_ok"]]
    assert agree == 1197, f"agreement {agree}/1197 (documented: 100 %); first disagreements: {disagree[:3]}"


def test_reason_names_the_problem_and_its_position() -> None:
    assert check_latex(r"x + \foo{y}").reason == r"unknown macro \foo at 4"
    assert "double superscript" in check_latex("a^b^c").reason
    assert check_latex("a^b^c").reason.endswith("at 3")
    assert "without \\right" in check_latex(r"\left( a").reason or "no \\right" in check_latex(r"\left( a").reason
    assert "unbalanced braces" in check_latex("{a").reason
    assert "& outside" in check_latex("a & b").reason
    assert check_latex("a").reason is None


def test_formula_is_read_as_a_display_with_line_breaks_allowed_at_its_ends() -> None:
    # \[<latex>\]: a line break after \[ or before \] is harmless; a blank line is \par.
    assert check_latex("\n  x^2  \n").ok
    assert not check_latex("\n\n x").ok
    assert not check_latex("x \n\n").ok
    assert check_latex("\\begin{array}{c} a \\\\ \n\n b \\end{array}").ok  # array makes \par empty
    assert not check_latex("\\begin{aligned} a \\\\ \n\n b \\end{aligned}").ok
    assert check_latex("  \\foo").reason == r"unknown macro \foo at 2"


def test_latex_check_is_frozen() -> None:
    result = check_latex("x")
    assert result == LatexCheck(True, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.ok = False  # type: ignore[misc]


def test_formula_validity_score() -> None:
    assert formula_validity_score([]) == 1.0
    assert formula_validity_score(["x", r"\frac{a}"]) == 0.5
    assert formula_validity_score([r"\alpha", r"\beta"]) == 1.0


def test_adversarial_inputs_are_bounded() -> None:
    cases = {
        "10k nested braces": "{" * 10_000 + "x" + "}" * 10_000,
        "252 nested braces": "{" * 252 + "x" + "}" * 252,
        "6k nested \\left": r"\left(" * 6_000 + "x" + r"\right)" * 6_000,
        "1 MB": "x" * 1_000_000,
        "binary": bytes(range(256)).decode("latin-1") * 300,
        "many optional args": r"\sqrt[" * 15_000,
        "many buildrel": r"\buildrel " * 9_000,
        "many environments": r"\begin{array}{c}" * 5_000,
        "many primes and scripts": "x'^{a}_{b}" * 9_000,
        "many \\left pairs": r"\left(x\right)" * 7_000,
        "long valid": "x+" * 45_000 + "y",
        "carets": "^^" * 40_000,
    }
    for name, text in cases.items():
        start = time.process_time()
        result = check_latex(text)
        elapsed = time.process_time() - start
        assert isinstance(result, LatexCheck), name
        assert elapsed < 1.0, f"{name}: {elapsed:.2f} s"
    assert not check_latex("{" * 10_000 + "x" + "}" * 10_000).ok  # TeX: 255 grouping levels
    assert check_latex("{" * 252 + "x" + "}" * 252).ok  # the deepest pdflatex accepts inside \[...\]
    deeper = check_latex("{" * 253 + "x" + "}" * 253)
    assert not deeper.ok and deeper.reason == "braces nested deeper than TeX's 255 grouping levels at 252"
    assert not check_latex("x" * (MAX_CHARS + 1)).ok
    assert check_latex("x+" * 45_000 + "y").ok
    assert not check_latex(None).ok  # type: ignore[arg-type]


_LATEX_PIECES = st.sampled_from([
    "x", "1", " ", "\n", "{", "}", "^", "_", "'", "&", "\\\\", "[", "]", "(", ")", "|", "$", "#", "%", "~",
    "\\frac", "\\sqrt", "\\left(", "\\right)", "\\middle|", "\\begin{array}{cc}", "\\end{array}",
    "\\begin{pmatrix}", "\\end{pmatrix}", "\\text{", "\\mathbf", "\\hat", "\\alpha", "\\sum", "\\limits",
    "\\over", "\\label{a}", "\\tag{1}", "\\hline", "\\hspace{", "1pt", "\\kern", "\\multicolumn{2}{c}",
    "\\verb|", "\\def\\x", "\\newcommand{\\y}[1]", "#1", "\\buildrel", "\\substack{", "\\hbox", "é", "\x00",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LATEX_PIECES, max_size=60).map("".join))
def test_never_raises_on_latex_like_text(text: str) -> None:
    start = time.process_time()  # CPU time: a busy CI machine must not fail the bound
    result = check_latex(text)
    assert time.process_time() - start < 0.5
    assert isinstance(result, LatexCheck)
    assert result.ok == (result.reason is None)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    start = time.process_time()  # CPU time: a busy CI machine must not fail the bound
    result = check_latex(text)
    assert time.process_time() - start < 0.5
    assert isinstance(result, LatexCheck)
