"""One GRPO step on the tiny model with the project's reward registry: the weights move and every reward
component, the KL, the clip fraction, completion lengths and the zero-variance share are logged."""
from __future__ import annotations

import json
import math

import pytest
import torch

pytest.importorskip("trl")

from grpo_support import small_cfg  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

from firered_ocr.training.grpo import run_grpo  # noqa: E402


def _weights(folder) -> dict[str, torch.Tensor]:
    return {k: v for f in sorted(folder.glob("*.safetensors")) for k, v in load_file(str(f)).items()}


def test_one_step_changes_the_weights_and_logs_every_reward_component(tiny_model_dir, tiny_dataset_dir, tmp_path):
    from rewards.reward_funcs import REWARD_FUNCS

    components = [name for name in REWARD_FUNCS if name != "total"]
    out = tmp_path / "out"
    cfg = small_cfg(tiny_model_dir, tiny_dataset_dir, out, rewards={name: 1.0 for name in components},
                    beta=0.04, report_to=["tensorboard"], samples_per_log=2)
    final = run_grpo(cfg)

    before, after = _weights(tiny_model_dir), _weights(final)
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) > len(before) // 2, f"only {len(changed)} of {len(before)} tensors changed"

    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    step = next(r for r in rows if "reward" in r)
    for name in components:  # present and finite: a reward that silently returns None logs NaN
        value = step.get(f"rewards/{name}/mean")
        assert isinstance(value, float) and math.isfinite(value), (name, value)
    for key in ("kl", "clip_ratio/region_mean", "completions/mean_length", "groups/zero_variance_frac",
                "frac_reward_zero_std", "entropy", "loss"):
        assert key in step, key
    assert step["kl"] is not None and step["kl"] >= 0
    assert 0.0 <= step["groups/zero_variance_frac"] <= 1.0
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2 and set(samples[0]["rewards"]) == set(components)
    assert (out / "reward_curves.png").stat().st_size > 0 and (out / "curves.png").is_file()
    assert list((out / "runs").rglob("events.out.tfevents.*"))
    assert json.loads((final / "grpo_stage_config.json").read_text())["beta"] == 0.04
