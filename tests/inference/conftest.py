"""Fixtures for the server engine's tests: pages told apart by their widths, and the stub server's module."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import stub_server (importlib import mode)

WIDTHS = [101, 102, 103, 104, 105, 106]  # p1.png ... p6.png, in input (sorted) order


@pytest.fixture(scope="session")
def width_pages(tmp_path_factory) -> Path:
    """Six small PNGs, p1..p6, 101..106 px wide: the stub server knows a page by its width."""
    from PIL import Image, ImageDraw

    d = tmp_path_factory.mktemp("pages")
    for i, w in enumerate(WIDTHS, 1):
        img = Image.new("RGB", (w, 40), "white")
        ImageDraw.Draw(img).text((4, 4), f"p{i}", fill="black")
        img.save(d / f"p{i}.png")
    return d
