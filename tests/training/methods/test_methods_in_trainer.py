"""The advantage switch inside the trainer (one process here; two in test_methods_ddp.py), its recipes and
config keys."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest.importorskip("trl")

from grpo_support import FAKE_REGISTRY, first_rollout, small_cfg  # noqa: E402

from firered_ocr.training.grpo import GRPOConfigError, build_trainer, load_grpo_config  # noqa: E402
from firered_ocr.training.methods import GroupAdvantage, MaxRLConfig, ProsperConfig  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


def _spread(texts, gts):
    """In [0, 1] and different for most pairs of random-model samples (so groups are rarely all equal)."""
    return [(len(t) % 7) / 6 for t in texts]


REGISTRY = {**FAKE_REGISTRY, "spread": _spread}
REWARDS = {"spread": 1.0, "digits": 0.5}


def _trl_grpo(per_func, weights, g):
    totals = (per_func * torch.tensor(weights).unsqueeze(0)).nansum(1).view(-1, g)
    return ((totals - totals.mean(1, keepdim=True)) / (totals.std(1, keepdim=True) + 1e-4)).view(-1)


@pytest.mark.parametrize("advantage,extra", [
    ("maxrl", {"maxrl": MaxRLConfig(success={"spread": 0.5})}),
    ("maxrl_ustat", {}),
    ("prosper", {"prosper": ProsperConfig(temperature=0.2)}),
])
def test_the_trainer_trains_on_the_configured_estimators_advantages(tiny_model_dir, tiny_dataset_dir, tmp_path,
                                                                    advantage, extra):
    cfg = small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path / "out", rewards=REWARDS, advantage=advantage,
                    **extra)
    trainer, _ = build_trainer(cfg, reward_registry=REGISTRY)
    _, out = first_rollout(trainer)
    per_func = trainer._round_rewards
    expected, metrics = GroupAdvantage(advantage, list(REWARDS), list(REWARDS.values()), 4,
                                       maxrl=cfg.maxrl, prosper=cfg.prosper).compute(per_func)
    torch.testing.assert_close(out["advantages"].double(), expected, rtol=0, atol=1e-6)
    assert not torch.allclose(out["advantages"].double(), _trl_grpo(per_func.double(), [1.0, 0.5], 4).double())
    logged = trainer._metrics["train"]
    for name, value in metrics.items():
        assert logged[name] == [value]
    assert list(trainer._logs["advantages"]) == pytest.approx(expected.tolist())  # samples.jsonl's advantages


def test_recipes_and_overrides_load_into_typed_sections():
    cfg = load_grpo_config(REPO / "configs" / "tiny_cpu_maxrl.yaml", ["maxrl.success={teds: 0.95}"])
    assert cfg.advantage == "maxrl" and cfg.maxrl.success == {"teds": 0.95} and cfg.loss_type == "dapo"
    cfg = load_grpo_config(REPO / "configs" / "tiny_cpu_prosper.yaml", ["prosper.temperatures.teds=0.3",
                                                                       "prosper.objective=softmin"])
    assert cfg.advantage == "prosper" and cfg.prosper.temperatures["teds"] == 0.3
    assert cfg.prosper.objective == "softmin" and isinstance(cfg.prosper, ProsperConfig)
    cfg = load_grpo_config(REPO / "configs" / "tiny_cpu_vespo.yaml")
    assert cfg.loss_type == "vespo" and cfg.num_iterations == 2
    assert load_grpo_config(REPO / "configs" / "tiny_cpu_maxrl_ustat.yaml").advantage == "maxrl_ustat"


def test_bad_advantage_settings_are_errors_naming_the_key(tiny_model_dir, tiny_dataset_dir, tmp_path):
    with pytest.raises(GRPOConfigError, match="grpo.advantage: one of grpo, maxrl, maxrl_ustat, prosper, not 'max'"):
        build_trainer(small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path, rewards=REWARDS, advantage="max"),
                      reward_registry=REGISTRY)
    with pytest.raises(GRPOConfigError, match="grpo.maxrl.success: teds not among the configured rewards"):
        build_trainer(small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path, rewards=REWARDS, advantage="maxrl",
                                maxrl=MaxRLConfig(success={"teds": 0.9})), reward_registry=REGISTRY)
    with pytest.raises(GRPOConfigError, match="grpo.multi_objective_aggregation: normalize_then_sum shapes only"):
        build_trainer(small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path, rewards=REWARDS, advantage="prosper",
                                multi_objective_aggregation="normalize_then_sum"), reward_registry=REGISTRY)
