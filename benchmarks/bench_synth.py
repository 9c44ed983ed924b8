"""Synthetic page factory speed, against a bare PyMuPDF render of the same PDFs, and the math engines.

  .venv/bin/python benchmarks/bench_synth.py [--docs 16] [--dpi 144] [--n2 60] [--full] [--formulas 60]

1. Per core (one process): `prep synth`'s unit of work (`make_item`: generate, lay out, write the PDF, draw
   the formulas, render, encode and write PNG + record) and a bare render of the same document's PDF,
   saved to a file, at the same dpi (open, `get_pixmap`, PNG, write), interleaved document by document
   over --docs documents. Target: the factory at >= 0.5 of the bare render's pages per second. The tiny-tables
   profile is timed the same way.
2. Two cores: `firered-ocr prep synth --workers 2` on --n2 pages, extrapolated to 1,000 pages (labelled
   as such), or on 1,000 pages for real with --full.
3. Math engines on the generator's own formulas: ziamath (the factory's), matplotlib mathtext, and
   pdflatex where installed: share typeset and median milliseconds per formula.
Other engineers share this machine's 2 cores: the load average is printed with the results.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pymupdf  # noqa: E402

from data_prep.synth import formulas as synth_formulas  # noqa: E402
from data_prep.config import DocumentProfile, SynthRunConfig, TinyTablesProfile  # noqa: E402
from data_prep.synth.gt_check import GroundTruthChecker  # noqa: E402
from data_prep.synth.math_render import MathRenderer, MathRenderError  # noqa: E402
from data_prep.synth.pipeline import _maker, make_item, plan  # noqa: E402


def time_factory_and_bare(profile, n_pages: int, dpi: int, out: Path) -> tuple[int, float, float]:
    """Interleaved, document by document, so both sides see the same moment's load on a shared machine:
    the factory makes a document exactly as `prep synth` does (timed); the same document's PDF is then
    made again (not timed: generation is deterministic, so it is the same PDF), saved, and rendered bare
    from the file (timed)."""
    cfg = SynthRunConfig(n_pages=n_pages, out=out, profile=profile, seed=0, dpi=dpi, progress=False)
    items = plan(cfg)
    (out / "images").mkdir(parents=True)
    (out / "records").mkdir()
    bare_dir = out / "bare"
    bare_dir.mkdir()
    make_item(items[0])  # warm-up: fonts, math engine, imports (not timed)
    pages, t_factory, t_bare = 0, 0.0, 0.0
    for item in items[1:]:
        t = time.perf_counter()
        pages += make_item(item).pages_written
        t_factory += time.perf_counter() - t
        pdf_path = bare_dir / f"{item.doc_id}.pdf"
        _maker(item.profile).make(item.seed, item.doc_index, item.n_pages, item.dpi).pdf.save(pdf_path)
        t = time.perf_counter()
        with pymupdf.open(pdf_path) as doc:
            for page in doc:
                png = page.get_pixmap(dpi=dpi, alpha=False).tobytes("png")
                (bare_dir / f"{item.doc_id}-{page.number}.png").write_bytes(png)
        t_bare += time.perf_counter() - t
    return pages, t_factory, t_bare


def two_core_run(n: int, dpi: int, out: Path) -> float:
    cmd = [sys.executable, "-m", "firered_ocr", "prep", "synth", "--n", str(n), "--out", str(out), "--workers", "2",
           "--dpi", str(dpi), "--no-progress"]
    t = time.perf_counter()
    run = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return time.perf_counter() - t


def formula_sample(n: int) -> list[tuple[str, bool]]:
    rng = random.Random(7)
    check = GroundTruthChecker().latex_problem
    out: list[tuple[str, bool]] = []
    while len(out) < n:
        display = len(out) % 2 == 0
        latex = synth_formulas.display_formula(rng) if display else synth_formulas.inline_formula(rng)
        if check(latex) is None:
            out.append((latex, display))
    return out


def bench_ziamath(sample) -> tuple[int, list[float]]:
    renderer = MathRenderer(cache_size=0)
    renderer.render("x", 11, False)
    ok, times = 0, []
    for latex, display in sample:
        t = time.perf_counter()
        try:
            renderer.render(latex, 11.0, display)
            ok += 1
        except MathRenderError:
            pass
        times.append(time.perf_counter() - t)
    return ok, times


def bench_mathtext(sample) -> tuple[int, list[float]]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import mathtext

    mathtext.math_to_image("$x$", io.BytesIO(), format="pdf")
    ok, times = 0, []
    for latex, _display in sample:
        t = time.perf_counter()
        try:
            mathtext.math_to_image(f"${latex}$", io.BytesIO(), format="pdf")
            ok += 1
        except Exception:  # mathtext raises ValueError on unsupported LaTeX
            pass
        times.append(time.perf_counter() - t)
    return ok, times


def bench_pdflatex(sample, limit: int = 12) -> tuple[int, list[float]] | None:
    exe = shutil.which("pdflatex")
    if exe is None:
        return None
    ok, times = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (latex, display) in enumerate(sample[:limit]):
            body = f"$\\displaystyle {latex}$" if display else f"${latex}$"
            src = ("\\documentclass{article}\\usepackage{amsmath,amssymb}\\pagestyle{empty}"
                   f"\\begin{{document}}{body}\\end{{document}}\n")
            (Path(tmp) / f"f{i}.tex").write_text(src)
            t = time.perf_counter()
            r = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", f"f{i}.tex"], cwd=tmp,
                               capture_output=True)
            if r.returncode == 0:
                with pymupdf.open(Path(tmp) / f"f{i}.pdf") as doc:
                    ok += doc.page_count == 1
            times.append(time.perf_counter() - t)
    return ok, times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=16, help="documents timed per core (about 2 pages each)")
    ap.add_argument("--dpi", type=int, default=144)
    ap.add_argument("--n2", type=int, default=60, help="pages of the 2-core run that is extrapolated to 1,000")
    ap.add_argument("--full", action="store_true", help="run 1,000 pages on 2 cores instead of extrapolating")
    ap.add_argument("--formulas", type=int, default=60)
    args = ap.parse_args()
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, profile, dpi in (("default", DocumentProfile(), args.dpi), ("tiny-tables", TinyTablesProfile(), 72)):
            pages_goal = args.docs * 2 if name == "default" else args.docs * 20
            done, t_synth, t_bare = time_factory_and_bare(profile, pages_goal, dpi, tmp / name)
            rows.append((name, dpi, done, done / t_synth, done / t_bare))
        print(f"\nPer core (1 process), load average before {load0[0]:.2f}, after {os.getloadavg()[0]:.2f}:")
        print(f"{'profile':12s} {'dpi':>4s} {'pages':>6s} {'factory p/s':>12s} {'bare render p/s':>16s} {'ratio':>6s}")
        for name, dpi, done, rate, bare in rows:
            print(f"{name:12s} {dpi:4d} {done:6d} {rate:12.2f} {bare:16.2f} {rate / bare:6.2f}")
        ratio = rows[0][3] / rows[0][4]
        print(f"target: default profile >= 0.5 of the bare render: {'met' if ratio >= 0.5 else 'NOT met'} ({ratio:.2f})")

        n = 1000 if args.full else args.n2
        wall = two_core_run(n, args.dpi, tmp / "two-cores")
        per_1000 = wall * 1000 / n
        label = "measured" if args.full else f"extrapolated from a measured {n}-page run ({wall:.1f} s)"
        print(f"\n2 cores (--workers 2, dpi {args.dpi}, default profile, whole CLI run incl. start-up and assembly): "
              f"1,000 pages in {per_1000:.0f} s ({per_1000 / 60:.1f} min), {label}; load average {os.getloadavg()[0]:.2f}")

    sample = formula_sample(args.formulas)
    print(f"\nMath engines on {len(sample)} generated formulas (half display, half inline), one core:")
    print(f"{'engine':22s} {'typeset':>9s} {'median ms':>10s} {'p90 ms':>8s}")
    for name, result in (("ziamath (factory)", bench_ziamath(sample)), ("matplotlib mathtext", bench_mathtext(sample)),
                         ("pdflatex (12 formulas)", bench_pdflatex(sample))):
        if result is None:
            print(f"{name:22s} {'not installed':>9s}")
            continue
        ok, times = result
        times_ms = sorted(t * 1000 for t in times)
        print(f"{name:22s} {ok:4d}/{len(times):<4d} {statistics.median(times_ms):10.1f} "
              f"{times_ms[int(0.9 * (len(times_ms) - 1))]:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
