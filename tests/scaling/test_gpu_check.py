"""benchmarks/gpu_check.sh: valid bash, refuses a machine without CUDA with a clear message, and its
--dry-run (CPU, tiny checkpoint) runs every stage and writes every number to the results file."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"


def test_the_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_without_a_gpu_it_stops_with_a_clear_message(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    env = {**os.environ, "GPU_CHECK_WORKDIR": str(tmp_path / "work")}
    proc = subprocess.run(["bash", str(SCRIPT), str(tmp_path / "r.json")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "no CUDA device" in proc.stdout + proc.stderr and "--dry-run" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_dry_run_runs_every_stage_and_records_its_numbers(tmp_path):
    results = tmp_path / "results.json"
    env = {**os.environ, "GPU_CHECK_WORKDIR": str(tmp_path / "work"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", str(SCRIPT), "--dry-run", str(results)], env=env, capture_output=True,
                          text=True, timeout=400)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    data = json.loads(results.read_text())
    stages = data["stages"]
    assert list(stages) == ["build", "data", "sft", "sft_plain", "grpo", "grpo_plain", "grpo_vllm"]
    assert all(r["ok"] for r in stages.values()), {n: r.get("error") for n, r in stages.items()}
    assert data["dry_run"] is True and data["sizes"]["shape"] == "tiny"
    for name, key in (("sft", "tokens_per_s"), ("sft_plain", "tokens_per_s"), ("grpo", "completion_tokens_per_s"),
                      ("grpo_plain", "completion_tokens_per_s")):
        assert stages[name][key] > 0, name
        assert len(stages[name]["seconds_per_step"]) == (2 if name.startswith("sft") else 1), name
    assert stages["sft"]["tokens_per_page"] == [256]  # the dry run's token cap, reached by a rendered page
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        assert "not installed" in stages["grpo_vllm"]["skipped"]
