"""The tiny-tables profile: one small table of small numbers per 192×128 image, GT exactly its markup."""
from __future__ import annotations

import re

import pymupdf
from PIL import Image

from data_prep.config import TinyTablesProfile
from data_prep.synth.tiny_tables import TinyTablesMaker

_TINY = re.compile(r"<table>(?:<tr>(?:<td>\d{1,3}</td>){2,3}</tr>){2,4}</table>")


def test_tiny_tables_dataset(tmp_path, prep, jsonl):
    out = tmp_path / "tiny"
    assert prep("synth", "--profile", "tiny-tables", "--n", 40, "--out", out, "--workers", 2) == 0
    rows = jsonl(out / "train.jsonl") + jsonl(out / "validation.jsonl")
    assert len(rows) == 40 and len({r["markdown"] for r in rows}) > 35
    shapes = set()
    for r in rows:
        md = r["markdown"]
        assert _TINY.fullmatch(md), md
        widths = {row.count("<td>") for row in re.findall(r"<tr>(.*?)</tr>", md)}
        assert len(widths) == 1  # rectangular
        shapes.add((md.count("<tr>"), widths.pop()))
        assert r["stats"] == {"tables": 1, "merged_cells": 0, "formulas": 0, "chars": len(md)}
        with Image.open(out / r["image"]) as im:
            assert im.size == (192, 128)
    assert shapes == {(r, c) for r in (2, 3, 4) for c in (2, 3)}


def test_tiny_table_prints_its_numbers_in_an_18px_font():
    maker = TinyTablesMaker(TinyTablesProfile())
    for i in range(10):
        doc = maker.make(seed=0, doc_index=i, n_pages=1, dpi=72)
        page = doc.pdf[0]
        numbers = re.findall(r"<td>(\d+)</td>", doc.pages[0].markdown)
        assert page.get_text("text").split() == numbers  # row by row, left to right
        sizes = {round(s["size"]) for b in page.get_text("dict")["blocks"] for l in b["lines"] for s in l["spans"]}
        assert sizes == {18}
        assert pymupdf.Rect(0, 0, 192, 128).contains(pymupdf.Rect(page.get_text("dict")["blocks"][0]["bbox"]))


def test_profile_overrides_and_a_page_too_small(tmp_path, capsys, prep, jsonl):
    out = tmp_path / "big"
    assert prep("synth", "--profile", "tiny-tables", "--n", 3, "--out", out, "--workers", 1,
                "--set", "width_pt=256", "--set", "rows=2,2", "--dpi", 144) == 0
    for r in jsonl(out / "train.jsonl") + jsonl(out / "validation.jsonl"):
        assert r["markdown"].count("<tr>") == 2
        with Image.open(out / r["image"]) as im:
            assert im.size == (512, 256)
    assert prep("synth", "--profile", "tiny-tables", "--n", 3, "--out", tmp_path / "small", "--workers", 1,
                "--set", "height_pt=40") == 2
    assert "page minus margins" in capsys.readouterr().err
    assert prep("synth", "--profile", "tiny-tables", "--n", 3, "--out", tmp_path / "bad", "--set", "colour=red") == 2
