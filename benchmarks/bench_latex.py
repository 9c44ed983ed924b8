"""check_latex against pdflatex: agreement, confusion matrix and speed.

  .venv/bin/python benchmarks/bench_latex.py [--fixture PATH] [--perturbed N] [--examples 5]

On the im2markup fixture (real arXiv formulas labelled by pdflatex with amsmath+amssymb, and by KaTeX),
in one run: agreement of check_latex with the pdflatex labels, next to the references measured on the same
formulas: KaTeX's labels (from the fixture) and pylatexenc's strict parse. Then median and p99 time per
formula (best of 5 calls each, one core).

--perturbed N (needs pdflatex on PATH, about 0.2 s per formula): N broken variants of the fixture's
valid formulas (truncated, a brace or token deleted, a macro name misspelt, a script doubled; seeded),
each labelled by pdflatex here, then the same agreement table: the fixture is almost all valid, while
model output is where the broken cases live.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rewards.latex.validity import check_latex  # noqa: E402

FIXTURE = REPO.parent / "shared" / "fixtures" / "im2markup" / "formulas_labelled.jsonl"


def pylatexenc_strict_ok(latex: str) -> bool:
    from pylatexenc.latexwalker import LatexWalker

    try:
        LatexWalker(latex, tolerant_parsing=False).get_latex_nodes()
        return True
    except Exception:  # noqa: BLE001 - any parse error is a "does not compile"
        return False


def pdflatex_ok(latex: str) -> bool:
    doc = ("\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{amssymb}\n\\begin{document}\n"
           "\\[\n" + latex + "\n\\]\n\\end{document}\n")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "a.tex").write_text(doc)
        try:
            proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-draftmode", "a.tex"],
                                  cwd=tmp, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return False
    return proc.returncode == 0


def perturb(latex: str, rng: random.Random) -> str:
    """One structural break of the kind a model makes."""
    how = rng.choice(["truncate", "drop_brace", "drop_token", "misspell", "double_script", "drop_right"])
    if how == "truncate":
        return latex[: rng.randrange(1, max(2, len(latex)))]
    if how == "drop_brace":
        spots = [i for i, c in enumerate(latex) if c in "{}" and (i == 0 or latex[i - 1] != "\\")]
    elif how == "drop_right":
        spots = [i for i in range(len(latex)) if latex.startswith("\\right", i) or latex.startswith("\\end", i)]
    elif how == "misspell":
        spots = [i for i in range(len(latex) - 2) if latex[i] == "\\" and latex[i + 1].isalpha()]
        if spots:
            i = rng.choice(spots) + 1
            return latex[:i] + latex[i] + rng.choice("aeiouxz") + latex[i + 1:]
    elif how == "double_script":
        spots = [i for i, c in enumerate(latex) if c in "^_"]
        if spots:
            i = rng.choice(spots)
            return latex[:i] + latex[i] + "x" + latex[i:]
    else:
        spots = list(range(len(latex)))
    if not spots:
        return latex[: len(latex) // 2]
    i = rng.choice(spots)
    width = 6 if how == "drop_right" else 1
    return latex[:i] + latex[i + width:]


def agreement_table(rows: list[dict], label: str, references: dict[str, str], examples: int) -> None:
    ours = [check_latex(r["latex"]) for r in rows]
    n = len(rows)
    truth = [r["pdflatex_ok"] for r in rows]
    print(f"\n{label}: {n} formulas, {sum(truth)} compile with pdflatex")
    print(f"{'checker':<28}{'agree':>8}{'share':>9}{'false accepts':>15}{'false rejects':>15}")
    for name, key in [("check_latex (ours)", None)] + list(references.items()):
        got = [c.ok for c in ours] if key is None else [r[key] for r in rows]
        agree = sum(g == t for g, t in zip(got, truth))
        fa = sum(g and not t for g, t in zip(got, truth))
        fr = sum(t and not g for g, t in zip(got, truth))
        print(f"{name:<28}{agree:>8}{agree / n:>9.2%}{fa:>15}{fr:>15}")
    tp = sum(c.ok and t for c, t in zip(ours, truth))
    tn = sum(not c.ok and not t for c, t in zip(ours, truth))
    print(f"confusion (ours): pdflatex ok & ours ok {tp}, pdflatex error & ours error {tn}, "
          f"false accepts {sum(c.ok and not t for c, t in zip(ours, truth))}, "
          f"false rejects {sum(t and not c.ok for c, t in zip(ours, truth))}")
    shown = 0
    for r, c, t in zip(rows, ours, truth):
        if c.ok != t and shown < examples:
            kind = "false accept" if c.ok else f"false reject ({c.reason})"
            print(f"  {kind}: {r['latex'][:160]!r}" + (f"  [pdflatex: {r.get('pdflatex_error', '')}]" if c.ok else ""))
            shown += 1


def timing(rows: list[dict]) -> None:
    times = []
    for r in rows:
        best = min(_time_one(r["latex"]) for _ in range(5))
        times.append(best)
    times.sort()
    median = statistics.median(times) * 1e3
    p99 = times[int(0.99 * (len(times) - 1))] * 1e3
    print(f"\ntime per formula (best of 5, {len(times)} formulas): median {median:.3f} ms, p99 {p99:.3f} ms, "
          f"max {times[-1] * 1e3:.3f} ms (target: median <= 0.5 ms)")


def _time_one(latex: str) -> float:
    start = time.perf_counter()
    check_latex(latex)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--perturbed", type=int, default=0, help="also label N broken variants with pdflatex")
    parser.add_argument("--examples", type=int, default=5)
    args = parser.parse_args()
    if not args.fixture.exists():
        print(f"{args.fixture}: fixture not found", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in args.fixture.read_text().splitlines() if line.strip()]
    for r in rows:
        r["pylatexenc_ok"] = pylatexenc_strict_ok(r["latex"])
    agreement_table(rows, "im2markup fixture", {"KaTeX (fixture labels)": "katex_ok",
                                               "pylatexenc strict parse": "pylatexenc_ok"}, args.examples)
    timing(rows)
    if args.perturbed:
        if not shutil.which("pdflatex"):
            print("--perturbed needs pdflatex on PATH", file=sys.stderr)
            return 2
        rng = random.Random(0)
        valid = [r["latex"] for r in rows if r["pdflatex_ok"]]
        broken = [perturb(rng.choice(valid), rng) for _ in range(args.perturbed)]
        with ThreadPoolExecutor(2) as pool:
            labels = list(pool.map(pdflatex_ok, broken))
        prows = [{"latex": b, "pdflatex_ok": ok, "pylatexenc_ok": pylatexenc_strict_ok(b)} for b, ok in zip(broken, labels)]
        agreement_table(prows, "perturbed fixture formulas (labelled here by pdflatex)",
                        {"pylatexenc strict parse": "pylatexenc_ok"}, args.examples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
