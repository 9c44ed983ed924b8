"""One launched app for the tests of this folder (launching Gradio costs seconds; the tests share it; it
is closed, and Gradio's and Python's temp settings restored, before other folders' tests run),
and the page files the tests upload, made fresh in tmp dirs: a page image, PDFs (plain, long, corrupt,
encrypted), a file that is not an image, and an oversize one.

Test-sized limits: 1 MB uploads, 3 PDF pages, 8 new tokens, 2 example pages.
"""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

GT_MD = """# Results

<table><tr><td>method</td><td>score</td></tr><tr><td>ours</td><td>$x^2$</td></tr><tr><td colspan="2">n = 3</td></tr></table>

$$\\frac{a}{b} = \\sqrt{c}$$
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def gt_markdown() -> str:
    """Ground truth with a table (inline math in a cell) and display math."""
    return GT_MD


@pytest.fixture(scope="session")
def app_cfg(tmp_path_factory):
    from app.config import AppConfig

    base = tmp_path_factory.mktemp("app")
    return AppConfig(data_dir=str(base / "data"), temp_dir=str(base / "temp"), port=free_port(),
                     max_upload_mb=1.0, max_pages=3, default_max_new_tokens=8, n_examples=2)


_HANDLE = pytest.StashKey()
_CLIENT = pytest.StashKey()
_HERE = Path(__file__).resolve().parent


@pytest.fixture
def app_handle(app_cfg, request):
    """The shared app, launched on first use (again if it was closed, e.g. when tests of another folder ran
    in between); closed by `pytest_runtest_teardown` below as soon as the tests of this folder are done."""
    from app.ui import launch_app

    handle = request.config.stash.get(_HANDLE, None)
    if handle is None or handle.closed:
        if handle is not None:
            app_cfg.port = free_port()
        handle = launch_app(app_cfg, prevent_thread_lock=True, log=lambda *_: None)
        request.config.stash[_HANDLE] = handle
    return handle


@pytest.fixture
def client(app_handle, request):
    from gradio_client import Client

    cached = request.config.stash.get(_CLIENT, None)
    if cached is None or cached[0] is not app_handle:
        cached = (app_handle, Client(app_handle.url, verbose=False))
        request.config.stash[_CLIENT] = cached
    return cached[1]


def pytest_runtest_teardown(item, nextitem):
    """Close the app when the next test lives outside this folder: a session-long server would keep
    Gradio's and Python's temp settings pointed at the app's temp dir for everyone else's tests."""
    handle = item.config.stash.get(_HANDLE, None)
    if handle is not None and (nextitem is None or _HERE not in Path(nextitem.path).resolve().parents):
        handle.close()


@pytest.fixture(scope="session")
def pages(tmp_path_factory) -> dict[str, Path]:
    """name -> file: image, pdf (2 pages), long_pdf (5 pages), corrupt_pdf, encrypted_pdf, not_image,
    text_file, oversize."""
    import numpy as np
    import pymupdf
    from PIL import Image, ImageDraw

    d = tmp_path_factory.mktemp("pages")
    out: dict[str, Path] = {}
    img = Image.new("RGB", (480, 640), "white")
    draw = ImageDraw.Draw(img)
    draw.text((40, 40), "Results", fill="black")
    for r in range(3):
        for c in range(2):
            draw.rectangle([40 + 120 * c, 80 + 30 * r, 160 + 120 * c, 110 + 30 * r], outline="black")
    out["image"] = d / "page.png"
    img.save(out["image"])

    def pdf(name: str, n: int, **save) -> Path:
        doc = pymupdf.open()
        for i in range(n):
            doc.new_page(width=300, height=400).insert_text((40, 60), f"page {i + 1}: x = 1")
        path = d / name
        doc.save(path, **save)
        return path

    out["pdf"] = pdf("two.pdf", 2)
    out["long_pdf"] = pdf("five.pdf", 5)
    out["encrypted_pdf"] = pdf("locked.pdf", 1, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    out["corrupt_pdf"] = d / "broken.pdf"
    out["corrupt_pdf"].write_bytes(b"this was never a PDF, whatever its name says\n")
    out["not_image"] = d / "notes.png"
    out["not_image"].write_text("these are notes, not pixels\n")
    out["text_file"] = d / "notes.txt"
    out["text_file"].write_text("plain text\n")
    noise = np.random.default_rng(0).integers(0, 256, (800, 800, 3), dtype=np.uint8)
    out["oversize"] = d / "huge.png"
    Image.fromarray(noise).save(out["oversize"])  # ~1.9 MB of incompressible pixels
    return out
