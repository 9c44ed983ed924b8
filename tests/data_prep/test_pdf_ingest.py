"""`prep pdfs` on a folder of real PDFs built here: good pages, a table, a scan, and four broken files."""
from __future__ import annotations

import pymupdf
import pytest

_CSS = "table {border-collapse: collapse} td {border: 1px solid black; padding: 3px}"
_TABLE = ('<table><tr><td colspan="2">Region</td><td>Total</td></tr>'
          '<tr><td>North</td><td>East</td><td>120</td></tr>'
          '<tr><td rowspan="2">South</td><td>West</td><td>80</td></tr><tr><td>Mid</td><td>5</td></tr></table>')


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    (root / "sub").mkdir()
    doc = pymupdf.open()
    for i in range(3):
        page = doc.new_page()
        page.insert_htmlbox(pymupdf.Rect(72, 72, 540, 200),
                            f"<h1>Annual report part {i}</h1><p>Revenue grew in quarter {i} across all regions.</p>")
        if i == 1:
            page.insert_htmlbox(pymupdf.Rect(72, 320, 540, 600), _TABLE, css=_CSS)
    doc.save(root / "report.pdf")
    data = (root / "report.pdf").read_bytes()
    (root / "sub" / "truncated.pdf").write_bytes(data[: len(data) // 2])
    doc.save(root / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="user", owner_pw="owner")
    (root / "empty.pdf").write_bytes(b"")
    (root / "zero_pages.pdf").write_bytes(  # a well-formed PDF whose page tree is empty
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n")
    scan = pymupdf.open()  # a page that is only a picture of a page: no text layer
    page = scan.new_page()
    page.insert_image(page.rect, pixmap=doc[0].get_pixmap(dpi=60))
    scan.save(root / "sub" / "scanned.pdf")
    (root / "notes.txt").write_text("not a pdf, not picked up from a folder")
    return root


def test_pdf_folder_labels_and_errors(corpus, tmp_path, capsys, prep, jsonl):
    out = tmp_path / "ds"
    rc = prep("pdfs", corpus, "--out", out, "--workers", 2, "--dpi", 50)
    err = capsys.readouterr().err
    assert rc == 1  # some files failed
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    expected = {"locked.pdf": "encrypted", "truncated.pdf": "damaged", "empty.pdf": "empty",
                "zero_pages.pdf": "no pages"}
    assert len(errors) == len(expected), errors
    for name, reason in expected.items():
        assert sum(name in e and reason in e for e in errors) == 1, (name, errors)
    assert "no text layer" in err  # the scan is flagged

    rows = jsonl(out / "train.jsonl") + jsonl(out / "validation.jsonl")
    by_source = {r["source"]: r for r in rows}
    assert sorted(by_source) == ["pdf:report.pdf#p0", "pdf:report.pdf#p1", "pdf:report.pdf#p2", "pdf:scanned.pdf#p0"]
    for i in range(3):
        r = by_source[f"pdf:report.pdf#p{i}"]
        assert (r["labelled"], r["label_kind"], r["page"]) == (True, "silver", i)
        assert r["markdown"].startswith(f"# Annual report part {i}\n\nRevenue grew in quarter {i} across all regions.")
        assert (out / r["image"]).is_file()
    table_page = by_source["pdf:report.pdf#p1"]
    assert _TABLE in table_page["markdown"]  # spans recovered, cell text not repeated as paragraphs
    assert table_page["markdown"].count("North") == 1
    assert table_page["stats"]["tables"] == 1 and table_page["stats"]["merged_cells"] == 2
    scanned = by_source["pdf:scanned.pdf#p0"]
    assert (scanned["markdown"], scanned["labelled"], scanned["label_kind"]) == (None, False, None)


def test_repaired_files_can_be_accepted_and_single_files_given(corpus, tmp_path, prep, jsonl):
    out = tmp_path / "ds"
    assert prep("pdfs", corpus / "sub" / "truncated.pdf", corpus / "report.pdf", "--out", out,
                "--workers", 1, "--dpi", 40, "--accept-repaired", "--val-fraction", 0) == 0
    sources = {r["source"] for r in jsonl(out / "train.jsonl")}
    assert {"pdf:report.pdf#p0", "pdf:truncated.pdf#p0"} <= sources


def test_missing_input_is_an_error_line_and_the_rest_goes_on(corpus, tmp_path, capsys, prep, jsonl):
    out = tmp_path / "ds"
    assert prep("pdfs", tmp_path / "nowhere", corpus / "report.pdf", "--out", out, "--workers", 1, "--dpi", 40) == 1
    assert f"error: {tmp_path / 'nowhere'}: no such file or folder" in capsys.readouterr().err
    assert len(jsonl(out / "train.jsonl")) + len(jsonl(out / "validation.jsonl")) == 3
