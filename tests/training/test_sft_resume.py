"""A SFT run killed with SIGKILL resumes from its last checkpoint and ends exactly where an uninterrupted run
ends: equal per-step losses (so the same batches in the same order), bit-identical final weights and Adam
state (so the optimizer, scheduler and RNG states were restored), and only the steps after the checkpoint were
redone. CPU runs are deterministic: identity is checked with equality, not a tolerance."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from firered_ocr.config_io import load_config
from firered_ocr.training.metrics_log import read_jsonl
from firered_ocr.training.sft import SFTConfig, run_sft

HERE = Path(__file__).resolve().parent


def _overrides(out: Path, model_dir: Path, data_dir: Path) -> list[str]:
    return [f"model.model={model_dir}", f"data.path={data_dir}", f"output_dir={out}", "cpu_threads=1",
            "optim.learning_rate=0.001", "optim.warmup_steps=2", "optim.max_steps=8",
            "optim.per_device_batch_size=4", "validation.n_pages=0", "save_steps=4", "logging_steps=1",
            "report_to=[]", "seed=3"]


def _losses(out: Path) -> dict[int, float]:
    rows = [r for r in read_jsonl(out / "metrics.jsonl") if "loss" in r]
    steps = [r["step"] for r in rows]
    assert len(steps) == len(set(steps)), f"duplicate steps in metrics.jsonl: {steps}"
    return {r["step"]: r["loss"] for r in rows}


def _weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, tiny_model_dir, tiny_dataset_dir):
    killed = tmp_path / "killed"
    marker = tmp_path / "stalled"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parents[1])}
    child = subprocess.Popen([sys.executable, str(HERE / "sft_child.py"),
                              json.dumps(_overrides(killed, tiny_model_dir, tiny_dataset_dir)), "6", str(marker)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"child exited early: {child.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("child never reached step 6")
            time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert (killed / "checkpoint-4" / "trainer_state.json").is_file()
    assert not (killed / "checkpoint-8").exists() and not (killed / "final").exists()
    assert set(_losses(killed)) == {1, 2, 3, 4, 5}  # step 5 logged by the killed run, to be redone

    resumed = run_sft(load_config(SFTConfig, None, _overrides(killed, tiny_model_dir, tiny_dataset_dir)),
                      log=lambda *_: None)
    assert resumed["resumed_from"].endswith("checkpoint-4") and resumed["global_step"] == 8

    reference_dir = tmp_path / "reference"
    run_sft(load_config(SFTConfig, None, _overrides(reference_dir, tiny_model_dir, tiny_dataset_dir)),
            log=lambda *_: None)
    reference, after_resume = _losses(reference_dir), _losses(killed)
    assert sorted(after_resume) == list(range(1, 9))
    assert after_resume == reference  # same batches, same order, same updates: equal losses, not close ones
    assert reference[8] < reference[1]
    # Identity, checked as equality: every weight and every tensor of the full Adam state (moments and step).
    ref_w, res_w = _weights(reference_dir / "final"), _weights(killed / "final")
    assert ref_w.keys() == res_w.keys()
    for name in ref_w:
        assert torch.equal(res_w[name], ref_w[name]), name
    ref_opt = torch.load(reference_dir / "checkpoint-8" / "optimizer.pt", weights_only=False)
    res_opt = torch.load(killed / "checkpoint-8" / "optimizer.pt", weights_only=False)
    assert res_opt["param_groups"] == ref_opt["param_groups"] and res_opt["state"].keys() == ref_opt["state"].keys()
    for key, state in ref_opt["state"].items():
        assert res_opt["state"][key].keys() == state.keys() >= {"step", "exp_avg", "exp_avg_sq"}
        for name, value in state.items():
            assert torch.equal(res_opt["state"][key][name], value), (key, name)
