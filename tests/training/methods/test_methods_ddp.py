"""Two CPU processes (torchrun, gloo): each keeps its slice of advantages computed on the gathered reward matrix,
so a group whose completions sit on both ranks gets the same advantages as in one process."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("trl")

from firered_ocr.training.methods import GroupAdvantage, MaxRLConfig  # noqa: E402

CHILD = Path(__file__).with_name("advantage_ddp_child.py")


@pytest.mark.slow
def test_advantages_under_two_processes_with_groups_straddling_ranks(tmp_path, tiny_model_dir, tiny_dataset_dir):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.run([torchrun, "--nproc_per_node", "2", str(CHILD), str(tiny_model_dir), str(tiny_dataset_dir),
                           str(tmp_path)], env=env, capture_output=True, text=True, timeout=500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    names, weights = ["spread", "digits"], [1.0, 0.5]
    for advantage in ("maxrl", "maxrl_ustat", "prosper"):
        ranks = [json.loads((tmp_path / f"{advantage}-rank{r}.json").read_text()) for r in (0, 1)]
        assert [r["processes"] for r in ranks] == [2, 2]
        assert ranks[0]["rewards"] == ranks[1]["rewards"]  # the same gathered matrix on both ranks
        per_func = torch.tensor(ranks[0]["rewards"], dtype=torch.float64)
        assert per_func.shape == (12, 2)  # 3 groups of 4 over 2 x 6 rows: group 1 = rank 0 rows 4-5 + rank 1 rows 0-1
        maxrl = MaxRLConfig(success={"spread": 0.5}) if advantage == "maxrl" else MaxRLConfig()
        expected, _ = GroupAdvantage(advantage, names, weights, 4, maxrl=maxrl).compute(per_func)
        trained = torch.tensor(ranks[0]["advantages"] + ranks[1]["advantages"], dtype=torch.float64)
        torch.testing.assert_close(trained, expected, rtol=0, atol=1e-6)
        straddling = expected[4:8]
        assert straddling.abs().sum() > 0, f"{advantage}: the straddling group carries no signal in this rollout"
