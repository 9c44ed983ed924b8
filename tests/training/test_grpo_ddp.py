"""GRPO as two processes (torchrun, gloo), as `accelerate launch` runs it on GPUs: every per-row decision the
trainer makes from the global rollout (which row is the ground truth, which row carries a page's NLL, which
groups have zero variance, what the curriculum observes) lands on the right row of each rank.

`accelerate launch --cpu --num_processes 2` does not start two processes on this machine; torchrun does.
"""
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

from firered_ocr.training.curriculum import group_variances  # noqa: E402

CHILD = Path(__file__).with_name("grpo_ddp_child.py")
G = 4


@pytest.mark.slow
def test_two_process_grpo_puts_gt_nll_and_masks_on_the_right_rows_of_both_ranks(tiny_model_dir, tiny_dataset_dir,
                                                                                 tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found"
    import firered_ocr

    # the ranks import the same checkout as this test (not whichever one the environment has installed)
    source = str(Path(firered_ocr.__file__).resolve().parents[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([torchrun, "--nproc_per_node", "2", str(CHILD), str(tiny_model_dir), str(tiny_dataset_dir),
                           str(tmp_path)], env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["step"] for r in ranks] == [1, 1] and all(len(r["rollouts"]) == 1 for r in ranks)
    local = [r["rollouts"][0] for r in ranks]
    assert [x["rank"] for x in local] == [0, 1]
    n = len(local[0]["ground_truths"])
    assert n == 6 and n % G != 0  # the middle group straddles the ranks: offsets matter

    # The global layout: rank 0 holds rows 0-5, rank 1 rows 6-11; groups of G consecutive rows, one page each.
    gts = local[0]["ground_truths"] + local[1]["ground_truths"]
    pages = local[0]["row_index"] + local[1]["row_index"]
    assert all(len(set(gts[k:k + G])) == 1 for k in range(0, 12, G)) and sorted(set(pages)) == [0, 1, 2]
    rewards = torch.tensor(local[0]["global_rewards"])
    assert local[1]["global_rewards"] == local[0]["global_rewards"]
    zero_var = (group_variances(rewards, G) == 0).tolist()
    assert zero_var.count(True) == 1  # page 0's group (reward 1 everywhere); the other two vary

    for rank, x in enumerate(local):
        rows = range(rank * n, rank * n + n)  # global row of each local row
        assert x["gt_sample"] == [g % G == G - 1 for g in rows], rank  # the last row of each group
        assert x["gt_nll_row"] == [g % G == 0 for g in rows], rank  # each page's NLL once: its first row
        for i, g in enumerate(rows):
            if g % G == G - 1:
                assert x["completions"][i] == x["ground_truths"][i], (rank, i)
            else:
                assert x["completions"][i] != x["ground_truths"][i], (rank, i)
            masked = zero_var[g // G]
            assert (x["mask_tokens"][i] == 0) == masked, (rank, i)
        # the loss's token count is global: the same on both ranks, the sum of every unmasked token
    total_tokens = sum(local[0]["mask_tokens"]) + sum(local[1]["mask_tokens"])
    assert [x["num_items_in_batch"] for x in local] == [total_tokens, total_tokens]

    # The curriculum saw each page's group variance once, identically on both ranks.
    expected = {str(pages[k * G]): [pytest.approx(v)] for k, v in enumerate(group_variances(rewards, G).tolist())}
    assert local[0]["history"] == local[1]["history"] == expected
