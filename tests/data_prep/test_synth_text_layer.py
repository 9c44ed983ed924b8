"""The ground truth says what the page prints: checked against the PDF's own text layer, page by page."""
from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pymupdf
import pytest

from data_prep.config import DocumentProfile
from data_prep.synth.gt_check import GroundTruthChecker
from data_prep.synth.factory import DocumentMaker

_FLAGS = pymupdf.TEXT_DEHYPHENATE | pymupdf.TEXT_MEDIABOX_CLIP  # ligatures expanded ("fi", not "ﬁ")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]+\$", re.DOTALL)
_CELL = re.compile(r"<td[^>]*>(.*?)</td>")

PROFILES = {
    # Two columns, formulas everywhere.
    "two-column-math": dataclasses.replace(DocumentProfile(), two_column_prob=1.0, inline_math_prob=0.6,
                                           weight_display_math=0.4, math_doc_prob=1.0),
    # One column, long tables that must split across pages with the header repeated.
    "long-tables": dataclasses.replace(DocumentProfile(), two_column_prob=0.0, weight_table=3.0,
                                       table_rows=(30, 40), merge_prob=1.0),
}


def squash(text: str) -> str:
    return " ".join(text.split())


def segments(markdown: str) -> tuple[list[str], list[str], int, int]:
    """(text runs between formulas, table cell texts, display formulas, inline formulas) of a GT page."""
    cells = [squash(c) for c in _CELL.findall(markdown) if c.strip()]
    no_tables = re.sub(r"<table>.*?</table>", "\n\n", markdown, flags=re.DOTALL)
    display = len(re.findall(r"\$\$.*?\$\$", no_tables, flags=re.DOTALL))
    inline = len(_MATH.findall(no_tables)) - display
    no_display = re.sub(r"\$\$.*?\$\$", "\n\n", no_tables, flags=re.DOTALL)
    runs = []
    for block in re.split(r"\n\s*\n", no_display):
        for line in block.splitlines():  # list items and headings lose their Markdown marker
            line = re.sub(r"^(#+ |- |\d+\. )", "", line.strip())
            runs += [squash(r) for r in _MATH.split(line) if r.strip()]
    return runs, cells, display, inline


@pytest.fixture(scope="module", params=sorted(PROFILES))
def made(request):
    maker = DocumentMaker(PROFILES[request.param])
    return request.param, [maker.make(seed=11, doc_index=i, n_pages=2, dpi=36) for i in range(2)]


# What each profile's pages must have exercised, so that the checks below cannot pass vacuously.
MUST_SEE = {"two-column-math": ("runs", "cells", "inline", "display"), "long-tables": ("runs", "cells")}


def test_every_gt_page_is_printed_on_that_page(made):
    name, docs = made
    seen = {"cells": 0, "runs": 0, "inline": 0, "display": 0}
    for doc in docs:
        texts = [squash(page.get_text("text", flags=_FLAGS)) for page in doc.pdf]
        for k, page in enumerate(doc.pages):
            runs, cells, display, inline = segments(page.markdown)
            for run in runs:
                assert run in texts[k], f"page {k}: {run!r} is in the ground truth but not printed"
                if len(run.split()) >= 8:  # long runs: printed on this page and no other (exact split)
                    assert all(run not in t for j, t in enumerate(texts) if j != k), run
            for cell in cells:
                assert cell in texts[k], f"page {k}: table cell {cell!r} not printed"
            # Formulas are vector drawings, not text: each GT formula, in order, was drawn on this page,
            # and its box holds vector paths.
            gt_formulas = [f.strip("$").strip() for f in _MATH.findall(re.sub(r"<table>.*?</table>", "", page.markdown))]
            assert [m.latex for m, _box in page.formulas] == gt_formulas
            assert len(gt_formulas) == display + inline
            paths = [p["rect"] for p in doc.pdf[k].get_drawings()]
            for m, box in page.formulas:
                assert doc.pdf[k].rect.contains(box)
                assert any(box.intersects(r) for r in paths), f"formula {m.latex!r} on page {k}: nothing drawn"
            seen["cells"] += len(cells)
            seen["runs"] += len(runs)
            seen["inline"] += inline
            seen["display"] += display
    assert all(seen[k] > 0 for k in MUST_SEE[name]), seen


def gt_words(markdown: str) -> Counter:
    text = _MATH.sub(" ", markdown)  # math first: a formula may hold "<" ($p < 2$)
    text = re.sub(r"</?(table|tr|td)[^>]*>", " ", text)
    words = Counter(text.split())
    del words["#"], words["##"], words["###"]
    return words


def test_nothing_is_printed_that_the_ground_truth_lacks(made):
    """The converse: every printed word is in the page's ground truth, except the page number (furniture)."""
    for doc in made[1]:
        for k, page in enumerate(doc.pages):
            printed = Counter(w.replace("•", "-") for w in doc.pdf[k].get_text("text", flags=_FLAGS).split())
            extra = printed - gt_words(page.markdown)
            assert set(extra) <= {str(k + 1)}, f"page {k} prints {dict(extra)} that its ground truth lacks"


def test_ground_truth_passes_the_projects_checks(made):
    checker = GroundTruthChecker()
    for doc in made[1]:
        for page in doc.pages:
            assert checker.page_problems(page.markdown) == []


def test_long_tables_split_at_page_breaks_with_the_header_repeated():
    maker = DocumentMaker(PROFILES["long-tables"])
    continued = 0
    for i in range(3):
        doc = maker.make(seed=5, doc_index=i, n_pages=2, dpi=36)
        for k, header_rows in doc.layout.table_continued_on:
            if header_rows == 0 or k == 0:  # a table without header rows has nothing to repeat
                continue
            rows = lambda md: re.findall(r"<tr>.*?</tr>", md)  # noqa: E731
            before = rows(doc.pages[k - 1].markdown.rpartition("<table>")[2])
            after = rows(doc.pages[k].markdown.partition("</table>")[0])
            assert doc.pages[k].markdown.startswith("<table>"), "a continued table must open the next page"
            assert after[:header_rows] == before[:header_rows], "the continued table lost its header rows"
            assert after[header_rows:] and after[header_rows] not in before, "a body row was printed twice"
            continued += 1
    assert continued > 0


def test_no_generated_block_is_lost_between_columns_and_pages(monkeypatch):
    """Every block the stream yields is printed (whole or split), except the one the document ended on."""
    from data_prep.synth import document as synth_document
    from data_prep.synth.blocks import DisplayMath, Heading, ListBlock, Paragraph, TableBlock

    yielded: list = []
    original = synth_document.BlockStream.__iter__

    def recording(self):
        for block in original(self):
            yielded.append(block)
            yield block

    monkeypatch.setattr(synth_document.BlockStream, "__iter__", recording)
    maker = DocumentMaker(PROFILES["two-column-math"])
    checked = 0
    for i in range(3):
        yielded.clear()
        doc = maker.make(seed=21, doc_index=i, n_pages=2, dpi=36)
        assert doc.layout.dropped_too_tall == doc.layout.dropped_tables_too_wide == 0
        gt = "\n\n".join(p.markdown for p in doc.pages)
        for block in yielded[:-2]:  # the last one or two may be cut off where the document ends
            if isinstance(block, (Heading, DisplayMath)):
                probe = block.markdown()
            elif isinstance(block, Paragraph):
                probe = block.split_at(1)[0].markdown() if block.parts() > 1 else block.markdown()
            elif isinstance(block, ListBlock):
                probe = block.markdown().splitlines()[0]
            else:
                assert isinstance(block, TableBlock)
                probe = block.table.gt_html()[: 40]
            assert probe in gt, f"block lost: {probe[:80]!r}"
            checked += 1
    assert checked > 20
