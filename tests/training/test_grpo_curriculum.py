"""The learnability curriculum: sampling shifts toward high-variance pages, zero-variance pages fall to the
floor weight, the batch layout is TRL's, its state survives a checkpoint, and the trainer feeds it."""
from __future__ import annotations

from collections import Counter

import pytest
import torch

from firered_ocr.training.curriculum import CurriculumConfig, CurriculumSampler, LearnabilityStats, group_variances


def _draw_counts(stats: LearnabilityStats, n_blocks: int, seed: int = 0) -> Counter:
    sampler = CurriculumSampler(stats, mini_repeat_count=1, batch_size=1, repeat_count=1, seed=seed)
    counts: Counter = Counter()
    for _ in range(n_blocks // stats.n_pages):
        counts.update(iter(sampler))
    return counts


def test_sampling_shifts_to_high_variance_pages_and_zero_variance_pages_fall_to_the_floor():
    cfg = CurriculumConfig(enabled=True, window=4, floor=0.01, unseen_score=0.25)
    stats = LearnabilityStats(4, cfg)
    uniform = _draw_counts(stats, 4000)  # nothing seen yet: every page has the same (unseen) score
    assert all(abs(uniform[p] / 4000 - 0.25) < 0.03 for p in range(4))

    stats.observe(0, 0.20)  # learnable
    stats.observe(1, 0.0)  # all-equal group: nothing to learn
    stats.observe(2, 0.02)
    probs = stats.probabilities()
    total = 0.21 + 0.01 + 0.03 + 0.26
    torch.testing.assert_close(probs, torch.tensor([0.21, 0.01, 0.03, 0.26], dtype=torch.float64) / total)
    counts = _draw_counts(stats, 8000)
    assert abs(counts[1] / 8000 - 0.01 / total) < 0.006  # down-weighted to the floor, not excluded
    assert counts[1] > 0
    assert counts[0] > 10 * counts[1] and counts[0] > 4 * counts[2]

    for _ in range(4):  # the window forgets: page 0 went all-equal four times in a row
        stats.observe(0, 0.0)
    assert stats.score(0) == pytest.approx(cfg.floor)


def test_sampler_keeps_trls_layout_and_restores_its_state():
    stats = LearnabilityStats(6, CurriculumConfig(enabled=True))
    sampler = CurriculumSampler(stats, mini_repeat_count=4, batch_size=2, repeat_count=2, seed=3)
    indices = list(iter(sampler))
    assert len(indices) == len(sampler) == 3 * 2 * 4 * 2
    block = indices[:16]
    a, b = block[0], block[4]
    assert a != b and block == [a] * 4 + [b] * 4 + [a] * 4 + [b] * 4

    for _ in range(3):  # the trainer marks each block once it has generated its rollout
        sampler.mark_consumed()
    stats.observe(a, 0.3)
    it = iter(sampler)
    first_block = [next(it) for _ in range(16)]  # the dataloader drew a block ahead: not consumed yet
    state = sampler.state_dict()
    assert state["pending"] == [[first_block[0], first_block[4]]]
    rest = list(it)
    restored = CurriculumSampler(LearnabilityStats(6, CurriculumConfig(enabled=True)), 4, 2, 2, seed=99)
    restored.load_state_dict(state)
    assert restored.stats.score(a) == stats.score(a)
    assert list(iter(restored)) == first_block + rest  # the pending block again, then the same draws


def test_each_block_is_drawn_with_the_variances_observed_before_it():
    """Observations made between two blocks of one epoch steer the very next block (not the next epoch)."""
    cfg = CurriculumConfig(enabled=True, window=1, floor=1e-9, unseen_score=0.25)
    stats = LearnabilityStats(8, cfg)
    sampler = CurriculumSampler(stats, mini_repeat_count=2, batch_size=1, repeat_count=1, seed=0)
    it = iter(sampler)
    targets = [5, 2, 7, 0, 3, 6, 1]
    drawn = [next(it), next(it)]
    for target in targets:  # after each block only `target` is still learnable: it must come next
        for page in range(8):
            stats.observe(page, 0.3 if page == target else 0.0)
        block = [next(it), next(it)]
        assert block == [target, target], (target, block)
        drawn += block
    assert list(it) == [] and len(drawn) == len(sampler) == 16


def test_restored_stats_keep_their_window_and_an_empty_state_loads_as_fresh():
    cfg = CurriculumConfig(enabled=True, window=2, floor=0.0)
    stats = LearnabilityStats(3, cfg)
    stats.observe(1, 0.4)
    restored = LearnabilityStats(3, cfg)
    restored.load_state_dict(stats.state_dict())
    for v in (0.1, 0.2, 0.3):  # the window still holds only the last two after a restore
        restored.observe(1, v)
    assert list(restored.history[1]) == [0.2, 0.3] and restored.score(1) == pytest.approx(0.25)
    restored.load_state_dict({})  # a state with nothing saved yet: no history
    assert restored.history == {} and restored.score(1) == pytest.approx(cfg.unseen_score)
    sampler = CurriculumSampler(LearnabilityStats(3, cfg), mini_repeat_count=1, seed=0)
    sampler.load_state_dict({})
    assert sampler.stats.history == {} and sampler.state_dict()["pending"] == [] and len(list(iter(sampler))) == 3


def test_group_variances_ignore_unscorable_completions():
    nan = float("nan")
    rewards = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0, 1.0, nan, 0.0, nan, nan, nan, 0.8, nan, nan, nan, nan])
    # one scorable completion, or none: nothing varies (variance 0, not NaN)
    torch.testing.assert_close(group_variances(rewards, 4), torch.tensor([0.0, 2 / 9, 0.0, 0.0]))


def test_an_empty_dataset_is_a_clear_error_and_one_page_is_enough():
    with pytest.raises(ValueError, match="^curriculum: the dataset has no pages$"):
        LearnabilityStats(0, CurriculumConfig(enabled=True))
    assert LearnabilityStats(1, CurriculumConfig(enabled=True)).probabilities().tolist() == [1.0]
    with pytest.raises(ValueError, match="^curriculum: 4 distinct pages per generation batch but the dataset has only 3$"):
        CurriculumSampler(LearnabilityStats(3, CurriculumConfig(enabled=True)), mini_repeat_count=2, batch_size=4)


def test_pages_within_a_block_are_distinct_even_when_one_page_dominates():
    stats = LearnabilityStats(3, CurriculumConfig(enabled=True, floor=1e-6))
    stats.observe(0, 0.25)
    stats.observe(1, 0.0)
    stats.observe(2, 0.0)  # page 0 has ~all the weight: drawing with replacement would repeat it
    for seed in range(5):
        block = list(iter(CurriculumSampler(stats, mini_repeat_count=1, batch_size=3, seed=seed)))
        assert sorted(block) == [0, 1, 2] and block[0] == 0, (seed, block)


def test_trainer_feeds_each_groups_reward_variance_to_the_curriculum(tiny_model_dir, tiny_dataset_dir, tmp_path):
    from grpo_support import first_rollout, small_cfg

    from firered_ocr.training.data import DataConfig, load_split
    from firered_ocr.training.grpo import build_trainer

    data = DataConfig(path=str(tiny_dataset_dir), max_pages=2)  # both pages in every rollout batch
    constant_gt = load_split(data, "train")["markdown"][0]

    def reward(texts, gts):  # page 0: every completion scores 1 (zero variance); others: by length
        return [1.0 if g == constant_gt else len(t) / 100 for t, g in zip(texts, gts)]

    cfg = small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path / "out", data=data, rewards={"r": 2.0},
                    curriculum=CurriculumConfig(enabled=True, floor=0.01))
    trainer, _ = build_trainer(cfg, reward_registry={"r": reward})
    batch, _ = first_rollout(trainer)
    g = trainer.num_generations
    totals = 2.0 * torch.tensor(list(trainer._logs["rewards"]["r"]))  # the weighted total the curriculum sees
    expected = group_variances(totals, g)
    seen = {}
    for group in range(len(batch) // g):
        page = batch[group * g]["row_index"]
        seen[page] = expected[group].item()
        assert list(trainer.learnability.history[page]) == [pytest.approx(seen[page])]
    assert set(trainer.learnability.history) == set(seen) == {0, 1}
    logged = trainer._metrics["train"]
    assert logged["curriculum/max_page_prob"] == [pytest.approx(trainer.learnability.probabilities().max().item())]
    assert logged["curriculum/pages_seen_frac"] == [1.0]  # both pages of the two-page set observed
    assert trainer.curriculum_sampler.state_dict()["pending"] == []  # its block was turned into this rollout
    for page, variance in seen.items():
        if page == 0:
            assert variance == 0.0 and trainer.learnability.score(page) == pytest.approx(0.01)
        else:
            assert variance > 0


def test_curriculum_run_resumed_from_a_checkpoint_draws_the_same_pages(tiny_model_dir, tiny_dataset_dir, tmp_path):
    """Stopping at checkpoint-2 and resuming gives the page order and weights of an uninterrupted run, although
    the dataloader had already drawn the next block when the checkpoint was written."""
    import json

    from grpo_support import FAKE_REGISTRY, small_cfg
    from safetensors.torch import load_file

    from firered_ocr.training.data import DataConfig
    from firered_ocr.training.grpo import run_grpo

    def cfg(out, max_steps):  # one page (G=4) per step, 4 pages: checkpoint-2 falls mid-epoch
        return small_cfg(tiny_model_dir, tiny_dataset_dir, out, data=DataConfig(path=str(tiny_dataset_dir),
                         max_pages=4), per_device_train_batch_size=4, rewards={"length": 1.0},
                         curriculum=CurriculumConfig(enabled=True), max_steps=max_steps, save_steps=2,
                         resume="auto", write_plots=False)

    straight = run_grpo(cfg(tmp_path / "a", 4), reward_registry=FAKE_REGISTRY)
    run_grpo(cfg(tmp_path / "b", 2), reward_registry=FAKE_REGISTRY)
    state = json.loads((tmp_path / "b" / "checkpoint-2" / "curriculum_state.json").read_text())
    assert len(state["pending"]) == 1  # drawn ahead by the dataloader, not yet trained on
    resumed = run_grpo(cfg(tmp_path / "b", 4), reward_registry=FAKE_REGISTRY)

    def order(out):
        return [json.loads(line)["ids"] for line in (out / "rollouts.jsonl").read_text().splitlines()]

    assert order(tmp_path / "b") == order(tmp_path / "a") and len(order(tmp_path / "a")) == 4
    a, b = load_file(str(straight / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:  # identical, not close
        assert torch.equal(a[name], b[name]), name
