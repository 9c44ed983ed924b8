"""Training-test fixtures: a tiny prepared dataset in the data contract (see tiny_dataset.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import tiny_dataset (importlib import mode)

from tiny_dataset import write_tiny_dataset  # noqa: E402


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny-data") / "data", n_train=16, n_val=4, unlabelled=2)
