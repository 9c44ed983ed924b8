"""Scaling-test fixtures: the Qwen3-VL-2B structure with narrow widths, and the tiny training dataset."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

TRAINING_TESTS = Path(__file__).resolve().parents[1] / "training"
sys.path.insert(0, str(TRAINING_TESTS))  # the tiny dataset writer lives beside the training tests

from tiny_dataset import write_tiny_dataset  # noqa: E402


@pytest.fixture(scope="session")
def narrow_2b_dir(tmp_path_factory) -> Path:
    """The published 2B structure (28 + 24 layers, deepstack [5, 11, 17], 151,936 tied rows), narrow widths."""
    from firered_ocr.model_shapes import QWEN3_VL_2B_NARROW
    from firered_ocr.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("narrow-2b") / "model", seed=0, cfg=QWEN3_VL_2B_NARROW)


@pytest.fixture(scope="session")
def scaling_dataset_dir(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("scaling-data") / "data", n_train=8, n_val=2)
