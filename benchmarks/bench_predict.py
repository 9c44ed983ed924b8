"""Foundation timing: `make-tiny-model` + `predict` on a 2-page PDF, as a user runs them (target < 60 s).

Runs the two commands as subprocesses (so import and model-load time count, as they do for a user) with
default settings, and reports wall time against the target. Run: `.venv/bin/python benchmarks/bench_predict.py`.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 60.0


def make_pdf(path: Path) -> None:
    import pymupdf

    doc = pymupdf.open()
    for i in range(2):
        page = doc.new_page()  # A4
        page.insert_htmlbox(pymupdf.Rect(72, 72, 520, 700),
                            f"<h1>Report page {i + 1}</h1><p>Revenue grew by 12 % in the quarter.</p>"
                            "<table border=1><tr><td>Region</td><td>2024</td></tr><tr><td>North</td><td>41</td></tr></table>")
    doc.save(path)


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_pdf(tmp / "two.pdf")
        cli = [sys.executable, "-m", "firered_ocr"]
        t_build = timed(cli + ["make-tiny-model", str(tmp / "model")])
        t_predict = timed(cli + ["predict", str(tmp / "two.pdf"), "--model", str(tmp / "model"),
                                 "--out", str(tmp / "out")])
        total = t_build + t_predict
        print(f"{'step':<28}{'seconds':>10}")
        print(f"{'make-tiny-model':<28}{t_build:>10.1f}")
        print(f"{'predict (2-page PDF)':<28}{t_predict:>10.1f}")
        print(f"{'total':<28}{total:>10.1f}   target < {TARGET_S:.0f} s: "
              f"{'met' if total < TARGET_S else 'MISSED'} ({total / TARGET_S:.2f} of the budget)")


if __name__ == "__main__":
    main()
