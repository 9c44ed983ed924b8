"""Formulas and hyphenation in silver labels, and what each page's label is used for downstream: a page with
display math set in TeX's math fonts (matplotlib's bundled cmmi10/cmsy10/cmex10) is labelled without its
debris, marked `silver_partial`, kept out of SFT and kept for GRPO; the dataset card counts it."""
from __future__ import annotations

import json
import os

import matplotlib
import pymupdf
import pytest

from data_prep.pdfs.hyphenation import join_lines
from data_prep.pdfs.math_detect import is_math_font, is_math_span
from data_prep.pdfs.silver_labels import silver_page

_TTF = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")
_PROSE = ("The energy of the system is given by the integral below, where the momentum enters quadratically and "
          "the state-of-the-art estimate holds.\n\nThe result follows from the theorem.")


def _math_page(doc: pymupdf.Document) -> pymupdf.Page:
    page = doc.new_page()
    for name in ("cmmi10", "cmsy10", "cmex10", "cmr10"):
        page.insert_font(fontname=name, fontfile=os.path.join(_TTF, name + ".ttf"))
    page.insert_text((72, 100), "The energy of the system is given by the integral below, where the mo-", fontsize=10)
    page.insert_text((72, 113), "mentum enters quadratically and the state-of-the-", fontsize=10)
    page.insert_text((72, 126), "art estimate holds.", fontsize=10)
    for x, text, font, size in ((250, "E", "cmmi10", 12), (262, "=", "cmr10", 12), (276, "R", "cmex10", 16),
                                (292, "p", "cmmi10", 12), (300, "2", "cmr10", 8), (306, "\x01dx", "cmsy10", 12)):
        page.insert_text((x, 170), text, fontname=font, fontsize=size)
    page.insert_text((500, 170), "(1)", fontsize=10)  # its equation number
    page.insert_text((72, 220), "The result follows from the theorem.", fontsize=10)
    return page


def test_display_math_is_left_out_whole_and_the_page_marked_partial():
    doc = pymupdf.open()
    label = silver_page(_math_page(doc))
    assert label.markdown == _PROSE
    assert (label.label_kind, label.left_out, label.formulas) == ("silver_partial", {"display_math": 1}, 1)


def test_a_table_with_math_in_a_cell_is_left_out():
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_font(fontname="cmmi10", fontfile=os.path.join(_TTF, "cmmi10.ttf"))
    page.insert_text((72, 60), "Results of the fit.", fontsize=10)
    for r in range(4):
        for c in range(3):
            x, y = 72 + 100 * c, 80 + 20 * r
            page.draw_rect(pymupdf.Rect(x, y, x + 100, y + 20), width=0.5)
            math = (r, c) == (2, 1)
            page.insert_text((x + 4, y + 14), "a" if math else f"v{r}{c}", fontname="cmmi10" if math else "helv",
                             fontsize=10)
    label = silver_page(page)
    assert label.markdown == "Results of the fit."  # neither the table nor its words as loose text
    assert (label.label_kind, label.left_out, label.tables, label.formulas) == (
        "silver_partial", {"table_with_math": 1}, 0, 1)


def test_math_fonts_and_symbol_dense_spans():
    assert all(is_math_font(f) for f in ("ABCDEF+CMMI10", "CMSY7", "CMEX10", "MSBM10", "STIXTwoMath-Regular",
                                         "Cambria Math", "LatinModernMath-Regular", "XITSMath"))
    assert not any(is_math_font(f) for f in ("CMR10", "Times-Roman", "ABCDEF+Calibri", "STIXGeneral"))
    assert is_math_span({"font": "ABCDEF+CMMI10", "text": "E"})  # one letter, known only by its font
    assert is_math_span({"font": "Times-Roman", "text": "∑ α ≤ β"})
    assert is_math_span({"font": "Times-Roman", "text": "f(x) \ufffd"})  # a big bracket with no Unicode
    assert not is_math_span({"font": "Times-Roman", "text": "costs rose 5% (≈ 3 points) in 2024"})
    # Seen on real pages: TeX's table-of-contents leaders and bullets in math fonts, a stray control
    # character in a text font (ICDAR eu-018): none of them is a formula.
    assert not is_math_span({"font": "CMMI10", "text": " . . . . . . . ."})
    assert not is_math_span({"font": "CMSY10", "text": "•"})
    assert not is_math_span({"font": "MyriadPro-Regular", "text": "1. \x07Only data specified as fresh"})


@pytest.mark.parametrize("lines, joined", [
    (["the mo-", "mentum"], "the momentum"),
    (["the state-of-the-", "art"], "the state-of-the-art"),  # a compound already hyphenated: keeps it
    (["a well-", "known fact"], "a well-known fact"),  # the hyphenated form appears on the page
    (["in 2023-", "2024"], "in 2023- 2024"),  # not a word broken in two
    (["see Section-", "Two"], "see Section- Two"),  # the next line starts a new (capitalised) word
])
def test_line_end_hyphenation(lines, joined):
    assert join_lines(lines, {"well-known"}) == joined


def test_partial_pages_go_to_grpo_not_sft(tmp_path, prep, jsonl):
    from firered_ocr.training.data import DataConfig, load_split

    doc = pymupdf.open()
    _math_page(doc)
    page = doc.new_page()
    page.insert_text((72, 100), "A page of plain prose with no formulas at all.", fontsize=10)
    doc.save(tmp_path / "paper.pdf")
    out = tmp_path / "ds"
    assert prep("pdfs", tmp_path / "paper.pdf", "--out", out, "--val-fraction", 0) == 0
    records = jsonl(out / "train.jsonl")
    assert [(r["label_kind"], r["stats"]["left_out"], r["stats"]["formulas"]) for r in records] == [
        ("silver_partial", {"display_math": 1}, 1), ("silver", {}, 0)]
    assert "\x01" not in records[0]["markdown"] and "E =" not in records[0]["markdown"]
    cfg = DataConfig(path=str(out))
    sft = load_split(cfg, "train")
    grpo = load_split(cfg, "train", purpose="grpo")
    assert sft["markdown"] == ["A page of plain prose with no formulas at all."]
    assert grpo["markdown"] == [None, "A page of plain prose with no formulas at all."]
    card = (out / "README.md").read_text()
    assert "| of which partly labelled (blocks left out): GRPO only | 2 | 0 | 2 |" not in card
    assert "| of which partly labelled (blocks left out): GRPO only | 1 | 0 | 1 |" in card
    assert "- `silver`: 1 pages labelled whole" in card
    assert "- `silver_partial`: 1 pages whose formulas" in card and "1 display math" in card
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["train"]["left_out"] == {"display_math": 1}
