from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sample_inputs(tmp_path_factory):
    """A PNG page, a 2-page PDF, and one file of each bad kind, made here."""
    import pymupdf
    from PIL import Image, ImageDraw

    d = tmp_path_factory.mktemp("inputs")
    img = Image.new("RGB", (320, 160), "white")
    ImageDraw.Draw(img).text((10, 10), "Total 42", fill="black")
    img.save(d / "page.png")
    doc = pymupdf.open()
    for i in range(2):
        page = doc.new_page(width=300, height=200)
        page.insert_text((40, 60), f"Page {i + 1}: revenue 12{i}", fontsize=14)
    doc.save(d / "two.pdf")
    enc = pymupdf.open()
    enc.new_page().insert_text((50, 50), "secret")
    enc.save(d / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="pw", owner_pw="pw")
    (d / "truncated.pdf").write_bytes((d / "two.pdf").read_bytes()[:200])
    (d / "empty.pdf").write_bytes(b"")
    # A syntactically valid PDF whose page tree holds no pages.
    (d / "nopages.pdf").write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n")
    (d / "fake.png").write_bytes(b"this is not a png")
    (d / "notes.txt").write_text("not a page")
    return d
