"""Fixtures shared by the whole suite.

`shared_fixtures`: the read-only `../shared/fixtures` folder beside the checkout (PubTabNet pairs,
im2markup formulas). Tests that use it skip cleanly when it is absent.
`tiny_model_dir`: the tiny offline Qwen3-VL checkpoint, built once per test session.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (the shared fixtures live beside the checkout)")
    return SHARED


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from firered_ocr.tiny_model import build_tiny_model

    out = tmp_path_factory.mktemp("tiny-model") / "model"
    build_tiny_model(out, seed=0)
    return out
