"""The scoring tab's upload staging accepts OmniDocBench's ground-truth .json (ground truth only)."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.config import AppConfig
from app.scoring_tab import _stage
from firered_ocr.page_inputs import InputError


def test_omnidocbench_json_is_ground_truth_only(tmp_path: Path) -> None:
    gt = tmp_path / "OmniDocBench.json"
    gt.write_text("[]", encoding="utf-8")
    staged = _stage([str(gt)], tmp_path / "in", "ground truth", AppConfig())
    assert staged is not None and staged.name == "OmniDocBench.json" and staged.read_text() == "[]"
    with pytest.raises(InputError, match=r"OmniDocBench.json: unsupported file type '.json' for predictions"):
        _stage([str(gt)], tmp_path / "in2", "predictions", AppConfig())
