"""An Actor-Curator GRPO run killed with SIGKILL resumes from its checkpoint and ends exactly where an
uninterrupted run ends: the same pages drawn, the same curator (weights, optimizer, replay buffer, sampling
stream) and the same policy weights."""
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
                   report_to=[], disable_tqdm=True, samples_per_log=0, seed=0, write_plots=False, cpu_threads=1,
                   curator={"enabled": True, "pool_factor": 2.0, "replay_steps": 2})
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({"grpo": section}))
    return path


def _rollouts(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]


def _assert_same(a, b, where: str) -> None:
    if isinstance(a, torch.Tensor):
        torch.testing.assert_close(a, b, msg=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.slow
def test_sigkilled_curator_run_resumes_as_if_never_stopped(tiny_model_dir, tiny_dataset_dir, tmp_path):
    recipe = _recipe(tmp_path, tiny_model_dir, tiny_dataset_dir)
    killed = tmp_path / "killed"
    sigkill_grpo_run_after_checkpoint_2(recipe, killed, REPO)
    state2 = torch.load(killed / "checkpoint-2" / "curator_state.pt", weights_only=False)
    assert state2["curator"]["updates"] == 2  # both finished batches measured before the checkpoint
    assert len(state2["sampler"]["pending"]) == 1  # the block the dataloader had drawn ahead

    resumed_final = run_grpo(load_grpo_config(recipe, [f"output_dir={killed}"]))  # resume: auto
    reference = tmp_path / "reference"
    reference_final = run_grpo(load_grpo_config(recipe, [f"output_dir={reference}"]))

    assert _rollouts(killed) == _rollouts(reference)
    assert [r["step"] for r in _rollouts(killed)] == [0, 1, 2, 3]
    got = torch.load(killed / "checkpoint-4" / "curator_state.pt", weights_only=False)
    want = torch.load(reference / "checkpoint-4" / "curator_state.pt", weights_only=False)
    assert want["curator"]["updates"] == 4
    _assert_same(got, want, "curator_state")
    a, b = load_file(str(resumed_final / "model.safetensors")), load_file(str(reference_final / "model.safetensors"))
    for name in b:
        torch.testing.assert_close(a[name], b[name], msg=name)
