"""Silver-label tables and `prep pdfs` speed on the ICDAR 2013 table competition's real PDFs.

  .venv/bin/python benchmarks/bench_pdf_tables.py [--fixture DIR] [--skip-layout-model]

1. Every table engine tried, side by side on the fixture's 19 tables (TEDS of each ground-truth table
   against the best table found on its page; missed: no table found overlaps it), seconds per page:
   the ruling-line finder alone (the labeller before), PyMuPDF's default `find_tables()` (its layout
   model) with `to_html()`, `find_tables(union=True, refine=True)` with `to_html()`, the same cells with
   the page's words as text, the labeller's choice with the layout model's grids withheld, and the
   labeller's choice (that plus its three repairs). Seconds per page are wall clock and this process's CPU time, after one warm-up page.
2. Cell-to-text assignment on a generated 50×10 (500-cell) ruled table page: each word tested against each
   cell (what the labeller did before) against the bucket index, and `find_tables` itself for scale.
3. `firered-ocr prep pdfs` on the fixture's PDFs (one worker, no augmentation, 144 dpi), pages per second,
   next to a bare render of the same pages (open, `get_pixmap`, PNG encode) in the same run.
Other engineers share this machine's 2 cores: the load average is printed with the results.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pymupdf  # noqa: E402

from data_prep.pdfs.table_eval import evaluate  # noqa: E402
from data_prep.pdfs.tables import WordIndex, page_tables  # noqa: E402

DEFAULT_FIXTURE = REPO.parent / "shared" / "fixtures" / "icdar2013"


def _engines(skip_layout_model: bool) -> dict:
    def own(engine: str, repair: bool):
        return lambda page, words: [(t.bbox, t.html()) for t in page_tables(page, words, engine=engine, repair=repair)]

    def pymupdf_html(**kwargs):
        return lambda page, words: [(pymupdf.Rect(t.bbox), t.to_html()) for t in page.find_tables(**kwargs).tables]

    engines = {"lines: find_tables(use_layout=False), the labeller before": own("lines", False)}
    if not skip_layout_model:
        engines["find_tables() default (layout model) + to_html()"] = pymupdf_html()
    engines["find_tables(union, refine) + to_html()"] = pymupdf_html(union=True, refine=True)
    engines["union+refine + repairs, layout model's grids withheld"] = _without_layout(own("union_refine", True))
    engines["union+refine cells, text from words"] = own("union_refine", False)
    engines["union+refine + the three repairs (chosen)"] = own("union_refine", True)
    return engines


def _without_layout(engine):
    """Union fuses the layout model's grids with ruling-line candidates; an empty layout preset on the page
    shows what the line candidates alone find (and what the model costs)."""
    def run(page, words):
        page.layout_information = []
        return engine(page, words)

    return run


def bench_engines(fixture: Path, skip_layout_model: bool) -> None:
    print(f"1. Table engines on {fixture.name} (19 tables)\n")
    print(f"{'engine':58s} {'mean TEDS':>9s} {'missed':>7s} {'s/page':>7s} {'cpu s/page':>10s}")
    for name, engine in _engines(skip_layout_model).items():
        r = evaluate(fixture, engine)
        print(f"{name:58s} {r.mean_teds:9.3f} {r.missed:4d}/{len(r.scores)} {r.seconds_per_page:7.3f} "
              f"{r.cpu_seconds_per_page:10.3f}")


def _quadratic_cell_text(cells: list, words: list) -> list[str]:
    """The labeller's previous assignment: every word tested against every cell."""
    out = []
    for c in cells:
        inside = [w for w in words if c.rect.contains(pymupdf.Point((w[0] + w[2]) / 2, (w[1] + w[3]) / 2))]
        out.append(" ".join(w[4] for w in sorted(inside, key=lambda w: (w[5], w[6], w[7]))))
    return out


def bench_cell_text() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=700, height=900)
    rows = "".join("<tr>" + "".join(f"<td>r{r}c{c}</td>" for c in range(10)) + "</tr>" for r in range(50))
    page.insert_htmlbox(page.rect + (20, 20, -20, -20), f"<table>{rows}</table>", css="body {font-size: 7pt} "
                        "table {border-collapse: collapse} td {border: 0.3pt solid black; padding: 1pt 4pt}")
    words = page.get_text("words")
    page_tables(page, words)  # warm-up: lazy imports and caches
    start, start_cpu = time.perf_counter(), time.process_time()
    table, = page_tables(page, words)
    t_all, cpu_all = time.perf_counter() - start, time.process_time() - start_cpu
    start = time.perf_counter()
    index = WordIndex(words)
    fast = [" ".join(w[4] for w in index.inside(c.rect)) for c in table.cells]
    t_index = time.perf_counter() - start
    start = time.perf_counter()
    slow = _quadratic_cell_text(table.cells, words)
    t_quad = time.perf_counter() - start
    assert fast == slow, "the index and the exhaustive test disagree"
    print(f"\n2. Cell text on a {len(table.cells)}-cell table page ({len(words)} words)\n")
    print(f"   every word against every cell: {t_quad * 1000:8.1f} ms")
    print(f"   bucket index:                  {t_index * 1000:8.1f} ms   ({t_quad / t_index:.0f}x faster)")
    print(f"   page_tables() whole (both find_tables + repairs + text): {t_all:.3f} s wall, {cpu_all:.3f} s CPU")


def bench_prep(fixture: Path) -> None:
    from firered_ocr.cli import main

    pdfs = sorted((fixture / "pdfs").glob("*.pdf"))
    n_pages = sum(pymupdf.open(p).page_count for p in pdfs)
    tmp = Path(tempfile.mkdtemp(prefix="bench_pdf_"))
    try:
        start, start_cpu = time.perf_counter(), time.process_time()
        for p in pdfs:
            with pymupdf.open(p) as doc:
                for page in doc:
                    (tmp / "bare.png").write_bytes(page.get_pixmap(dpi=144, alpha=False).tobytes("png"))
        t_bare, cpu_bare = time.perf_counter() - start, time.process_time() - start_cpu
        start, start_cpu = time.perf_counter(), time.process_time()
        rc = main(["prep", "pdfs", str(fixture / "pdfs"), "--out", str(tmp / "ds"), "--workers", "1",
                   "--no-progress"])
        t_prep, cpu_prep = time.perf_counter() - start, time.process_time() - start_cpu
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n3. prep pdfs on {len(pdfs)} PDFs, {n_pages} pages, 1 worker, 144 dpi (exit status {rc})\n")
    for name, wall, cpu in (("bare render (open, get_pixmap, PNG)", t_bare, cpu_bare),
                            ("prep pdfs (labels + render + write)", t_prep, cpu_prep)):
        print(f"   {name}: {n_pages / wall:6.2f} pages/s wall, {n_pages / cpu:6.2f} pages/CPU-s")
    print(f"   prep pdfs / bare render: {t_bare / t_prep:.2f} (wall), {cpu_bare / cpu_prep:.2f} (CPU)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE, help="ICDAR 2013 fixture folder")
    ap.add_argument("--skip-layout-model", action="store_true", help="leave out the slow default find_tables()")
    args = ap.parse_args()
    if not (args.fixture / "grids").is_dir():
        sys.exit(f"error: {args.fixture}: no ICDAR 2013 fixture there (grids/ missing); pass --fixture DIR")
    pymupdf.TOOLS.mupdf_display_errors(False)
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores, shared)\n")
    bench_engines(args.fixture, args.skip_layout_model)
    bench_cell_text()
    bench_prep(args.fixture)
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
