"""SFT as DDP: two CPU processes (torchrun, gloo) split each step's pages and write one set of outputs.

Measured (docs/training.md, "Library behaviours"): `accelerate launch --cpu --num_processes 2` did not
start two processes here; torchrun does, and Trainer sets up the same DistributedDataParallel it uses
under `accelerate launch` on GPUs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from firered_ocr.training.metrics_log import read_jsonl


@pytest.mark.slow
def test_sft_runs_as_two_process_ddp(tmp_path, tiny_model_dir, tiny_dataset_dir):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found"
    out = tmp_path / "ddp"
    recipe = tmp_path / "ddp.yaml"
    recipe.write_text("sft:\n  optim: {learning_rate: 1.0e-3, warmup_steps: 1, max_steps: 3, "
                      "per_device_batch_size: 2}\n")
    cmd = [torchrun, "--nproc_per_node", "2", "-m", "firered_ocr.cli", "sft", "--config", str(recipe),
           f"model.model={tiny_model_dir}", f"data.path={tiny_dataset_dir}", f"output_dir={out}",
           "validation.n_pages=2", "validation.max_new_tokens=8", "save_steps=3", "logging_steps=1",
           "report_to=[]", "cpu_threads=1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_jsonl(out / "metrics.jsonl")
    losses = [r for r in rows if "loss" in r]
    # 16 pages, 2 per process, 2 processes: each step covers 4 pages = a quarter epoch; rank 0 logs alone
    assert [r["step"] for r in losses] == [1, 2, 3] and losses[0]["epoch"] == pytest.approx(0.25)
    assert sum("val/hallucination_rate" in r for r in rows) == 1
    assert (out / "final" / "model.safetensors").is_file() and (out / "checkpoint-3" / "optimizer.pt").is_file()
