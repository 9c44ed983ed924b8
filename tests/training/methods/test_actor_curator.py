"""Actor-Curator formulas with hand-computed numbers, the curator's update direction, the sampler's layout and
state, and the page features."""
from __future__ import annotations

import math

import pytest
import torch

from firered_ocr.training.methods.curator.config import CuratorConfig
from firered_ocr.training.methods.curator.curator import Curator
from firered_ocr.training.methods.curator.features import FEATURE_NAMES, page_feature_row, standardise
from firered_ocr.training.methods.curator.objective import (
    clipped_curator_loss, entropy, improvement, sampling_distribution, sequence_ratios)
from firered_ocr.training.methods.curator.sampler import CuratorSampler

D = torch.float64


def test_sampling_distribution_is_a_softmax_with_a_uniform_floor():
    # softmax([0, ln 3, 0, 0]) = [1, 3, 1, 1] / 6; alpha = 0.2, n = 4: 0.8 * that + 0.05
    p = sampling_distribution(torch.tensor([0.0, math.log(3), 0.0, 0.0], dtype=D), alpha=0.2, temperature=1.0)
    torch.testing.assert_close(p, torch.tensor([0.8 / 6 + 0.05, 2.4 / 6 + 0.05, 0.8 / 6 + 0.05, 0.8 / 6 + 0.05],
                                               dtype=D))
    assert p.sum().item() == pytest.approx(1.0)
    # temperature 0.5 doubles the logits: softmax([0, 2 ln 3]) = [1/10, 9/10]; alpha 0.2, n 2 -> +0.1
    p2 = sampling_distribution(torch.tensor([0.0, math.log(3)], dtype=D), alpha=0.2, temperature=0.5)
    torch.testing.assert_close(p2, torch.tensor([0.18, 0.82], dtype=D))
    torch.testing.assert_close(entropy(p2), torch.tensor(-(0.18 * math.log(0.18) + 0.82 * math.log(0.82)), dtype=D))
    # a page with probability 0 adds nothing (0 log 0 = 0, not NaN); a batch of distributions: one entropy per row
    torch.testing.assert_close(entropy(torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], dtype=D)),
                               torch.tensor([math.log(2), 0.0], dtype=D))


def test_sequence_ratio_is_the_length_normalised_ratio_of_unmasked_tokens():
    new = torch.tensor([[0.2, -0.4, 9.0], [1.0, 1.0, 1.0], [0.3, 5.0, 5.0]], dtype=D)
    old = torch.tensor([[-0.5, -0.5, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 0.0]], dtype=D)
    new = new + old  # new - old: [0.2, -0.4] (mean -0.1), nothing, [0.3]
    mask = torch.tensor([[1, 1, 0], [0, 0, 0], [1, 0, 0]])  # two tokens, none (ratio 1), one token
    torch.testing.assert_close(sequence_ratios(new, old, mask),
                               torch.tensor([math.exp(-0.1), 1.0, math.exp(0.3)], dtype=D))


def test_improvement_is_the_group_mean_of_advantage_times_ratio_minus_one():
    # Group 0: (1 * 0.2 + (-1) * (-0.1)) / 2 = 0.15. Group 1's advantages do not sum to 0 (as with a
    # ground-truth row), so (s - 1) and s differ: (0.5 * 0 + 0.3 * 0.1) / 2 = 0.015, not 0.415.
    adv = torch.tensor([1.0, -1.0, 0.5, 0.3], dtype=D)
    ratios = torch.tensor([1.2, 0.9, 1.0, 1.1], dtype=D)
    torch.testing.assert_close(improvement(adv, ratios, 2), torch.tensor([0.15, 0.015], dtype=D))
    # float32 inputs are taken exactly: s - 1 in float32 would round 0.1f - 1 (float32 has no 2^-27 bits near -0.9)
    s32 = torch.tensor([0.1, 1.0], dtype=torch.float32)
    expected = (float(s32[0]) - 1.0) / 2  # A = [1, 0]
    assert improvement(torch.tensor([1.0, 0.0], dtype=torch.float32), s32, 2).item() == expected


def test_clipped_curator_loss_matches_the_hand_computed_objective():
    # r = [1.5, 0.5, 1.0]; clip(r, 0.8, 1.2) = [1.2, 0.8, 1.0]; r u = [1.5, -1.0, 0.5]; clipped u = [1.2, -1.6, 0.5]
    # min = [1.2, -1.6, 0.5] -> loss = -(0.1 / 3); two of three terms take the clipped value.
    loss, frac = clipped_curator_loss(torch.tensor([0.3, 0.1, 0.2], dtype=D), torch.tensor([0.2, 0.2, 0.2], dtype=D),
                                      torch.tensor([1.0, -2.0, 0.5], dtype=D), clip_epsilon=0.2)
    assert loss.item() == pytest.approx(-0.1 / 3, abs=1e-12)
    assert frac.item() == pytest.approx(2 / 3)


def _features(n: int, cls_every: int = 4) -> torch.Tensor:
    """Pages with two features: a class flag (every `cls_every`-th page) and a nuisance value."""
    g = torch.Generator().manual_seed(1)
    flag = torch.tensor([float(i % cls_every == 0) for i in range(n)], dtype=D)
    return torch.stack([flag, torch.rand(n, generator=g, dtype=D)], dim=1)


def test_one_update_moves_probability_toward_the_page_that_improved_and_away_from_the_one_that_did_not():
    curator = Curator(_features(8), CuratorConfig(enabled=True, updates_per_step=1, learning_rate=0.05))
    pool = torch.arange(8)
    before = curator.distribution(pool)
    chosen = torch.tensor([0, 1])  # page 0 (class) improved the policy, page 1 (not) made it worse
    curator.observe(pool, chosen, before[chosen], torch.tensor([1.0, -1.0], dtype=D))
    after = curator.distribution(pool)
    assert after[0] > before[0] and after[1] < before[1]
    assert curator.updates == 1 and len(curator.replay) == 1


def test_curator_learns_a_feature_defined_class_while_the_per_page_curriculum_stays_uniform():
    """2,000 pages, 8 chosen per batch, 60 batches: 480 draws, so most pages are seen once. Class pages (a
    quarter of them) give improvement 0.05, the others 0 (plus noise). The per-page curriculum, fed the
    corresponding signal (reward variance 0.25 vs 0), cannot say anything about a page it has not seen; the
    curator, scoring features, draws the class far above its base rate."""
    from firered_ocr.training.curriculum import CurriculumConfig, CurriculumSampler, LearnabilityStats

    n, k, steps = 2000, 8, 60
    feats = _features(n)
    is_class = feats[:, 0] > 0
    noise = torch.Generator().manual_seed(2)

    curator = Curator(feats, CuratorConfig(enabled=True, learning_rate=0.02, alpha=0.1, seed=0))
    sampler = CuratorSampler(curator, mini_repeat_count=1, batch_size=k, repeat_count=1, seed=0)
    cur_late = []
    for step in range(steps):
        block = sampler.draw_block()
        pages = torch.tensor(block["pages"])
        u = 0.05 * is_class[pages].to(D) + 0.01 * torch.randn(k, generator=noise, dtype=D)
        curator.observe(block["pool"], block["chosen"], block["p_sampled"], u)
        if step >= steps // 2:
            cur_late.extend(block["pages"])

    stats = LearnabilityStats(n, CurriculumConfig(enabled=True))
    curriculum = CurriculumSampler(stats, mini_repeat_count=1, batch_size=k, repeat_count=1, seed=0)
    it = iter(curriculum)
    cur_seen, curric_late = set(), []
    for step in range(steps):
        pages = [next(it) for _ in range(k)]
        for p in pages:
            stats.observe(p, 0.25 if is_class[p] else 0.0)
        if step >= steps // 2:
            curric_late.extend(pages)
        cur_seen.update(pages)

    curator_share = is_class[torch.tensor(cur_late)].to(D).mean().item()
    curriculum_share = is_class[torch.tensor(curric_late)].to(D).mean().item()
    repeats = len(curric_late) + (steps // 2) * k - len(cur_seen)  # draws of a page already seen
    assert abs(curriculum_share - 0.25) < 0.08  # the base rate: per-page statistics never get a second look
    assert repeats < 0.1 * steps * k
    assert curator_share > 0.6, curator_share  # the curator generalised from features to unseen pages


def test_sampler_keeps_trls_layout_records_probabilities_and_restores_its_state():
    curator = Curator(_features(12), CuratorConfig(enabled=True, pool_factor=2.0))
    sampler = CuratorSampler(curator, mini_repeat_count=3, batch_size=2, repeat_count=2, seed=5)
    assert sampler.pool_size == 4 and len(sampler) == 6 * 2 * 3 * 2
    it = iter(sampler)
    first = [next(it) for _ in range(12)]
    a, b = first[0], first[3]
    assert a != b and first == [a] * 3 + [b] * 3 + [a] * 3 + [b] * 3
    block = sampler.pop_consumed()
    assert block["pages"] == [a, b] and len(block["pool"]) == 4
    torch.testing.assert_close(block["p_sampled"], curator.distribution(block["pool"])[block["chosen"]])
    second = [next(it) for _ in range(12)]  # drawn, not consumed: pending in the state
    state = sampler.state_dict()
    assert [blk["pages"] for blk in state["pending"]] == [[second[0], second[3]]]
    rest = list(it)
    restored = CuratorSampler(Curator(_features(12), CuratorConfig(enabled=True, pool_factor=2.0)), 3, 2, 2, seed=77)
    restored.load_state_dict(state)
    # The restored sampler finishes the interrupted epoch: the pending block, then exactly the original's draws.
    assert state["epoch_consumed"] == 1
    assert list(iter(restored)) == second + rest
    assert len(list(iter(restored))) == len(sampler)  # the next epoch is whole again


def test_page_feature_row_reads_record_stats_and_counts_cells_in_the_markdown():
    md = '<table><tr><td colspan="2">a</td></tr><tr><th>b</th><td>c</td></tr></table> $x$'
    record = {"source": "pdf:a.pdf#p1", "label_kind": "silver", "augment": {"blur": 1},
              "stats": {"tables": 1, "merged_cells": 1, "formulas": 1, "chars": len(md)}}
    row = page_feature_row(record, md, (100, 50))
    expected = [0, 1, 0, 1, 1, math.log1p(1), math.log1p(3), math.log1p(1), math.log1p(1), math.log1p(len(md)),
                math.log1p(100), math.log1p(50)]
    assert row == pytest.approx(expected) and len(row) == len(FEATURE_NAMES)
    # Without a record (a dataset given directly): counts from the Markdown, source "other".
    assert page_feature_row({}, md, (100, 50))[:10] == pytest.approx(
        [0, 0, 1, 0, 0, math.log1p(1), math.log1p(3), math.log1p(1), math.log1p(1), math.log1p(len(md))])
    table = standardise(torch.tensor([[1.0] * 5 + [1.0] * 7, [0.0] * 5 + [3.0] + [1.0] * 6], dtype=D))
    torch.testing.assert_close(table[:, 5], torch.tensor([-1.0, 1.0], dtype=D))  # standardised
    torch.testing.assert_close(table[:, 6], torch.zeros(2, dtype=D))  # constant column -> 0
    torch.testing.assert_close(table[:, 0], torch.tensor([1.0, 0.0], dtype=D))  # 0/1 columns kept


def test_bad_curator_settings_are_refused_with_the_key_named():
    with pytest.raises(ValueError, match="grpo.curator.alpha"):
        CuratorConfig(enabled=True, alpha=0.0).check()
    with pytest.raises(ValueError, match="grpo.curator.pool_factor"):
        CuratorConfig(enabled=True, pool_factor=0.5).check()


def test_frozen_embedding_rows_follow_the_page_ids_and_a_missing_page_is_named(tmp_path):
    import numpy as np

    from firered_ocr.training.methods.curator.features import load_embedding

    path = tmp_path / "emb.npz"
    np.savez(path, ids=np.array(["b", "a", "c"]), vectors=np.array([[2.0, 0.0], [1.0, 1.0], [3.0, 3.0]]))
    torch.testing.assert_close(load_embedding(path, ["a", "b"]), torch.tensor([[1.0, 1.0], [2.0, 0.0]], dtype=D))
    with pytest.raises(ValueError, match=r"no embedding for page 'z' \(1 training pages missing\)"):
        load_embedding(path, ["a", "z"])
    with pytest.raises(FileNotFoundError, match="curator.embedding"):
        load_embedding(tmp_path / "none.npz", ["a"])
