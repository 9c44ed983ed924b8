"""Actor-Curator as two processes (torchrun, gloo): both ranks hold the same curator, observe the same
improvements (gathered over the ranks, with a group straddling them) and so draw the same pages."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

CHILD = Path(__file__).with_name("curator_ddp_child.py")
G = 4


@pytest.mark.slow
def test_two_ranks_hold_the_same_curator_and_draw_the_same_pages(tiny_model_dir, tiny_dataset_dir, tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([torchrun, "--nproc_per_node", "2", str(CHILD), str(tiny_model_dir), str(tiny_dataset_dir),
                           str(tmp_path)], env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["updates"] == r1["updates"] == 2
    assert r0["observed"] == r1["observed"]  # same pools, pages, probabilities and improvements
    assert r0["weights"] == r1["weights"]
    for step, obs in enumerate(r0["observed"]):
        pages = [obs["pool"][c] for c in obs["chosen"]]
        global_rows = r0["rows"][step] + r1["rows"][step]  # rank 0 holds rows 0-5, rank 1 rows 6-11
        assert global_rows == [p for p in pages for _ in range(G)]  # the drawn block, G rows per page
        assert len(obs["u"]) == 3
    assert any(u != 0.0 for obs in r0["observed"] for u in obs["u"])
