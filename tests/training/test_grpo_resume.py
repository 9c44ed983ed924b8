"""A GRPO run killed with SIGKILL resumes from its last checkpoint and ends exactly where an uninterrupted run
ends: same global steps, same data order, the same full Adam state and the same weights, bit for bit (CPU runs
are deterministic, so equality is checked, not a tolerance)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

pytest.importorskip("trl")

from safetensors.torch import load_file  # noqa: E402

from firered_ocr.training.grpo import load_grpo_config, run_grpo  # noqa: E402
from grpo_support import sigkill_grpo_run_after_checkpoint_2  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _recipe(tmp_path: Path, model: Path, data: Path) -> Path:
    section = dict(model=str(model), data={"path": str(data), "max_pages": 8}, num_generations=2,
                   per_device_train_batch_size=4, max_completion_length=8, max_steps=4, save_steps=2,
                   save_total_limit=None, learning_rate=1e-3, rewards={"text_accuracy": 1.0, "tag_closure": 0.5},
                   report_to=[], disable_tqdm=True, samples_per_log=0, seed=0, write_plots=False, cpu_threads=1)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({"grpo": section}))
    return path


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return {k: v for f in sorted(folder.glob("*.safetensors")) for k, v in load_file(str(f)).items()}


def _rollouts(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_sigkilled_run_resumes_from_its_checkpoint_as_if_never_stopped(tiny_model_dir, tiny_dataset_dir, tmp_path):
    recipe = _recipe(tmp_path, tiny_model_dir, tiny_dataset_dir)
    killed = tmp_path / "killed"
    sigkill_grpo_run_after_checkpoint_2(recipe, killed, REPO)
    assert not (killed / "final").exists()

    resumed_final = run_grpo(load_grpo_config(recipe, [f"output_dir={killed}"]))  # resume: auto
    reference = tmp_path / "reference"
    reference_final = run_grpo(load_grpo_config(recipe, [f"output_dir={reference}"]))

    state = json.loads((killed / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    metrics = [json.loads(line) for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in metrics if "loss" in r] == [1, 2, 3, 4]  # steps 3+ of the killed run redone once
    # Same data order: the page ids of every rollout batch, step by step.
    assert _rollouts(killed) == _rollouts(reference)
    assert [r["step"] for r in _rollouts(killed)] == [0, 1, 2, 3]
    # Same optimizer state and the same final weights as the run that was never interrupted.
    opt_k = torch.load(killed / "checkpoint-4" / "optimizer.pt", weights_only=False)
    opt_r = torch.load(reference / "checkpoint-4" / "optimizer.pt", weights_only=False)
    # Identity, checked as equality (not a tolerance): every tensor of the full Adam state and every weight.
    assert opt_k["state"].keys() == opt_r["state"].keys()
    assert opt_k["param_groups"] == opt_r["param_groups"]
    for key in opt_r["state"]:
        assert opt_k["state"][key].keys() == opt_r["state"][key].keys() >= {"step", "exp_avg", "exp_avg_sq"}
        assert opt_k["state"][key]["step"] == opt_r["state"][key]["step"] == 4
        for name, value in opt_r["state"][key].items():
            assert torch.equal(opt_k["state"][key][name], value), (key, name)
    got, want = _weights(resumed_final), _weights(reference_final)
    assert got.keys() == want.keys()
    for name in want:
        assert torch.equal(got[name], want[name]), name
