"""The curator inside the GRPO trainer: the rollout is the drawn block, u is measured against the rollout
policy's own log-probabilities (0 before any update), and a short run updates the curator every batch and
logs its metrics."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")

from firered_ocr.training.data import DataConfig  # noqa: E402
from firered_ocr.training.methods.curator.config import CuratorConfig  # noqa: E402


def test_rollout_is_the_drawn_block_and_u_is_zero_before_any_update(tiny_model_dir, tiny_dataset_dir, tmp_path):
    import numpy as np
    from grpo_support import FAKE_REGISTRY, first_rollout, small_cfg

    from firered_ocr.training.grpo import build_trainer
    from firered_ocr.training.methods.curator.features import FEATURE_NAMES

    ids = [f"train-{i:04d}" for i in range(8)]  # the tiny dataset's first 8 pages, plus one it does not use
    np.savez(tmp_path / "emb.npz", ids=np.array(ids[::-1] + ["other"]), vectors=np.arange(18.0).reshape(9, 2))
    cfg = small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path / "out", rewards={"length": 1.0},
                    data=DataConfig(path=str(tiny_dataset_dir), max_pages=8),
                    curator=CuratorConfig(enabled=True, pool_factor=2.0, embedding=str(tmp_path / "emb.npz")))
    trainer, _ = build_trainer(cfg, reward_registry=FAKE_REGISTRY)
    assert trainer.curator.features.shape == (8, len(FEATURE_NAMES) + 2)  # the frozen embedding appended
    emb = trainer.curator.features[:, -2]  # standardised: page 0 had the largest value (row 7 of the file)
    assert emb.argmax().item() == 0 and emb.argmin().item() == 7
    batch, out = first_rollout(trainer)
    (pending,) = trainer._unmeasured
    g = trainer.num_generations
    assert pending["block"]["pages"] == [row["row_index"] for row in batch[::g]]
    assert len(pending["block"]["pool"]) == 4  # pool_factor 2 x 2 pages per batch
    metrics = trainer._metrics["train"]
    assert metrics["curator/p_sampled_mean"][-1] == pytest.approx(pending["block"]["p_sampled"].mean().item())
    assert metrics["curator/share/tables"][-1] == 1.0  # every tiny page holds one table
    # On-policy: the rollout log-probabilities come from the loss's own forward pass (none yet: unknown).
    assert pending["old"].isnan().all()
    loss_inputs = {k: v for k, v in out.items()}
    trainer._compute_loss(trainer.model, loss_inputs)  # the whole batch as one micro-batch
    assert not pending["old"].isnan().any()
    # No update happened: the policy is the rollout policy, every sequence ratio is 1, so u = 0 exactly.
    trainer._measure(pending)
    assert metrics["curator/u_mean"][-1] == 0.0 and metrics["curator/ratio_dev"][-1] == 0.0
    assert trainer.curator.updates == 1 and len(trainer.curator.replay) == 1


def test_short_curator_run_updates_the_curator_each_batch_and_logs_its_metrics(tiny_model_dir, tiny_dataset_dir,
                                                                               tmp_path):
    import torch
    from grpo_support import FAKE_REGISTRY, small_cfg

    from firered_ocr.training.grpo import run_grpo

    out = tmp_path / "run"
    cfg = small_cfg(tiny_model_dir, tiny_dataset_dir, out, rewards={"length": 1.0}, max_steps=3, save_steps=3,
                    data=DataConfig(path=str(tiny_dataset_dir), max_pages=8), num_iterations=2,
                    gt_in_group=True, skip_zero_variance_groups=True,  # the other options still compose
                    curator=CuratorConfig(enabled=True, pool_factor=2.0), write_plots=False)
    run_grpo(cfg, reward_registry=FAKE_REGISTRY)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = {k for r in rows for k in r}
    for key in ("curator/loss", "curator/entropy", "curator/u_mean", "curator/clip_frac",
                "curator/share/source_other", "curator/share/tables"):
        assert key in logged, key
    state = torch.load(out / "checkpoint-3" / "curator_state.pt", weights_only=False)
    # num_iterations 2: three optimizer steps finish the first generation batch (steps 1-2) and leave the
    # second (step 3) half-used: one measured batch, one drawn ahead.
    assert state["curator"]["updates"] == 1
    u_rows = [r["curator/u_mean"] for r in rows if "curator/u_mean" in r]
    assert u_rows and all(u == u for u in u_rows) and any(u != 0.0 for u in u_rows)  # measured after updates


def test_curator_and_curriculum_together_or_a_bad_curator_key_are_refused():
    from firered_ocr.training.curriculum import CurriculumConfig
    from firered_ocr.training.grpo import GRPOConfigError, GRPOStageConfig, build_grpo_args

    both = GRPOStageConfig(curator=CuratorConfig(enabled=True), curriculum=CurriculumConfig(enabled=True))
    with pytest.raises(GRPOConfigError, match="enable one of them"):
        build_grpo_args(both, [1.0])
    with pytest.raises(GRPOConfigError, match="grpo.curator.temperature"):
        build_grpo_args(GRPOStageConfig(curator=CuratorConfig(enabled=True, temperature=0.0)), [1.0])
    args = build_grpo_args(GRPOStageConfig(curator=CuratorConfig(enabled=True)), [1.0])
    assert args.ignore_data_skip  # the sampler restores its own position on resume
