"""The generators' own invariants: tables tile their grid and split cleanly; formulas are checked LaTeX."""
from __future__ import annotations

import random
import re

import pytest

from data_prep.synth import formulas as synth_formulas, tables as synth_tables
from data_prep.synth.gt_check import GroundTruthChecker, convention_problem
from data_prep.synth.math_render import MathRenderer, checked_formula


def test_tables_tile_their_grid_pass_check_table_and_split_at_row_groups():
    checker = GroundTruthChecker()
    rng = random.Random(0)
    kinds = {"rowspan": 0, "colspan": 0, "empty": 0, "long": 0, "two_level": 0}
    for _ in range(300):
        t = synth_tables.random_table(rng, rng.randint(2, 7), (1, 40), merge_prob=0.6)
        assert synth_tables.grid_problem(t) is None
        html = t.gt_html()
        assert checker.table_problem(html) is None, html
        kinds["rowspan"] += "rowspan" in html
        kinds["colspan"] += "colspan" in html
        kinds["empty"] += "<td></td>" in html
        kinds["long"] += len(t.rows) - t.header_rows >= 25
        kinds["two_level"] += t.header_rows == 2
        n = len(t.body_groups)
        if n >= 2:
            k = rng.randint(1, n - 1)
            head, rest = t.piece(0, k), t.piece(k, n)
            for part in (head, rest):
                assert synth_tables.grid_problem(part) is None
                assert part.rows[: t.header_rows] == t.rows[: t.header_rows]  # header repeated
            body = lambda x: x.rows[x.header_rows:]  # noqa: E731
            assert body(head) + body(rest) == body(t)  # every body row printed exactly once
    assert all(v > 0 for v in kinds.values()), kinds


def test_a_borderless_table_never_hides_merged_body_cells():
    rng = random.Random(1)
    for _ in range(300):
        t = synth_tables.random_table(rng, rng.randint(3, 6), (2, 12), merge_prob=1.0)
        if t.style == "rules":
            assert all(c.rowspan == 1 and c.colspan == 1 for row in t.rows[t.header_rows:] for c in row)


@pytest.mark.parametrize("html,ok", [
    ('<table><tr><td colspan="2">a</td></tr></table>', True),
    ('<table><tr><th>a</th></tr></table>', False),
    ('<table><tr><td class="x">a</td></tr></table>', False),
    ('<table><tr><td colspan="1">a</td></tr></table>', False),
])
def test_convention_checker(html, ok):
    assert (convention_problem(html) is None) == ok


def test_formulas_pass_the_renderer_and_the_checker_and_use_only_known_macros():
    checker = GroundTruthChecker()
    renderer = MathRenderer()
    rng = random.Random(2)
    for kind in synth_formulas.DISPLAY_KINDS:
        for _ in range(3):
            m = checked_formula(rng, lambda r, k=kind: synth_formulas.display_formula(r, k), renderer,
                                checker.latex_problem, 11.0, display=True)
            assert m is not None, kind
            assert checker.latex_problem(m.latex) is None
            assert m.width > 0 and m.ascent > 0 and m.svg.startswith(b"<svg")
            assert set(re.findall(r"\\([A-Za-z]+|.)", m.latex)) <= synth_formulas.KNOWN_MACROS | {"\\"}
    drawn = [synth_formulas.inline_formula(rng) for _ in range(300)]
    accepted = [f for f in drawn if checker.latex_problem(f) is None]
    assert len(accepted) >= 0.97 * len(drawn)  # the generator writes valid LaTeX, not just filtered LaTeX


def test_formula_paths_draw_what_mupdfs_svg_reader_draws():
    """The SVG → PDF-operator conversion against MuPDF's own reading of the same SVG, pixel by pixel."""
    import numpy as np
    import pymupdf

    from data_prep.synth.render_pdf import prepend_content, formula_content

    renderer, checker = MathRenderer(), GroundTruthChecker()
    rng = random.Random(5)
    for kind in synth_formulas.DISPLAY_KINDS:
        m = checked_formula(rng, lambda r, k=kind: synth_formulas.display_formula(r, k), renderer,
                            checker.latex_problem, 12.0, display=True)
        ref_page = pymupdf.open("svg", m.svg)[0]
        doc = pymupdf.open()
        page = doc.new_page(width=ref_page.rect.width, height=ref_page.rect.height)
        prepend_content(doc, page, formula_content(page.rect, [(m, pymupdf.Rect(0, 0, m.width, m.height))]))
        a, b = (np.frombuffer(p.get_pixmap(dpi=216, colorspace="gray").samples, np.uint8).astype(int)
                for p in (ref_page, page))
        assert a.shape == b.shape, kind
        ink = (a < 128).sum()
        assert ink > 50, kind
        assert np.abs(a - b).mean() < 2.0 and ((a < 128) != (b < 128)).sum() < 0.02 * ink, kind
