"""MaxRL's group advantage: the authors' formula on hand-computed groups, and the U-statistic's identity to it."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from firered_ocr.training.methods import (GroupAdvantage, MaxRLConfig, MaxRLRewardError, maxrl_advantages,
                                          maxrl_ustat_advantages, success_events, total_reward)

NAN = float("nan")


def _t(values):
    return torch.tensor(values, dtype=torch.float64)


def test_official_formula_on_binary_continuous_all_zero_and_all_equal_groups():
    rewards = _t([1, 0, 0, 0,  0.5, 0.25, 0.25, 0,  0, 0, 0, 0,  0.5, 0.5, 0.5, 0.5])
    adv = maxrl_advantages(rewards, 4)
    expected = [0.75 / 0.250001, -0.25 / 0.250001, -0.25 / 0.250001, -0.25 / 0.250001,  # (r - 1/4)/(1/4 + 1e-6)
                0.25 / 0.250001, 0.0, 0.0, -0.25 / 0.250001,
                0.0, 0.0, 0.0, 0.0,  # all zero: 0 / 1e-6
                0.0, 0.0, 0.0, 0.0]  # all equal
    torch.testing.assert_close(adv, _t(expected), rtol=0, atol=1e-12)
    assert adv[0].item() == pytest.approx(2.999988000048, abs=1e-11)


def test_floor_bounds_partial_credit_near_zero_and_nan_rows_leave_their_group():
    near_zero = _t([0.05, 0, 0, 0])
    assert maxrl_advantages(near_zero, 4)[0].item() == pytest.approx(0.0375 / 0.012501, abs=1e-12)  # ~3: the max
    floored = maxrl_advantages(near_zero, 4, floor=0.1)  # (r - 0.0125) / (0.1 + 1e-6)
    torch.testing.assert_close(floored, _t([0.0375, -0.0125, -0.0125, -0.0125]) / 0.100001, rtol=0, atol=1e-12)
    with_nan = maxrl_advantages(_t([1, NAN, 0, 0]), 4)  # mean over the 3 judged rows: 1/3
    torch.testing.assert_close(with_nan, _t([(2 / 3) / (1 / 3 + 1e-6), 0, -(1 / 3) / (1 / 3 + 1e-6),
                                             -(1 / 3) / (1 / 3 + 1e-6)]), rtol=0, atol=1e-12)


def test_negative_rewards_are_refused_with_a_clear_error():
    with pytest.raises(MaxRLRewardError, match="reward -0.5 is negative"):
        maxrl_advantages(_t([1, -0.5, 0, 0]), 4)
    with pytest.raises(MaxRLRewardError, match="negative"):
        maxrl_ustat_advantages(_t([1, -0.5, 0, 0]), 4)
    with pytest.raises(MaxRLRewardError, match=r"above 1; advantage: maxrl_ustat needs rewards in \[0, 1\]"):
        maxrl_ustat_advantages(_t([1, 2, 0, 0]), 4)


def test_ustat_hand_computed_groups():
    # [1, 0.5, 0]: w_0 = e_0/C(2,0) + e_1/C(2,1) + e_2/C(2,2) of failures {0.5, 1} = 1 + 1.5/2 + 0.5 = 2.25
    #              w_1 of failures {0, 1} = 1 + 1/2 + 0 = 1.5 -> A = 1.5 * 0.5 - 1 = -0.25; A_2 = -1
    torch.testing.assert_close(maxrl_ustat_advantages(_t([1, 0.5, 0, NAN]), 4), _t([1.25, -0.25, -1, 0]),
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(maxrl_ustat_advantages(_t([0.05, 0, 0, 0]), 4), _t([-0.8, -1, -1, -1]),
                               rtol=0, atol=1e-12)
    # all-zero: 0; all-equal partial credit c: w = sum_k (1 - c)^k, so A = -(1 - c)^N for every row (a constant
    # within the group: unbiased, not centred; on 0/1 groups it is 0 since c = 1)
    torch.testing.assert_close(maxrl_ustat_advantages(_t([0, 0, 0, 0, 0.7, 0.7, 0.7, 0.7, 1, 1, 1, 1]), 4),
                               _t([0, 0, 0, 0, -0.0081, -0.0081, -0.0081, -0.0081, 0, 0, 0, 0]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [2, 4, 8])
def test_ustat_equals_the_official_estimator_on_every_binary_group(n):
    groups = list(itertools.product([0.0, 1.0], repeat=n))
    rewards = _t([r for group in groups for r in group])
    ustat = maxrl_ustat_advantages(rewards, n)
    exact = maxrl_advantages(rewards, n, epsilon=0.0)  # the authors' formula without its 1e-6
    exact = torch.nan_to_num(exact, nan=0.0)  # 0/0 of all-zero groups: the authors' code gives 0 there
    torch.testing.assert_close(ustat, exact, rtol=0, atol=1e-12)
    official = maxrl_advantages(rewards, n)
    torch.testing.assert_close(ustat, official, rtol=1e-5, atol=1e-5)
    k = 1  # one success: the maximal advantage N - 1
    assert ustat.view(-1, n)[groups.index(tuple([1.0] + [0.0] * (n - 1)))][0].item() == pytest.approx(n - k)


def test_success_event_needs_every_listed_component_that_judged():
    names = ["teds", "text_accuracy", "formula_validity"]
    per_func = _t([[0.95, 0.2, 1.0], [0.95, 0.9, 0.5], [0.5, 0.9, 1.0], [NAN, 0.1, 1.0], [NAN, 0.1, NAN]])
    events = success_events(per_func, names, {"teds": 0.9, "formula_validity": 1.0})
    torch.testing.assert_close(events, _t([1, 0, 0, 1, NAN]), equal_nan=True, rtol=0, atol=0)
    with pytest.raises(ValueError, match="grpo.maxrl.success: cell_alignment not among the configured rewards"):
        success_events(per_func, names, {"cell_alignment": 0.9})


def test_group_advantage_on_the_total_and_on_a_success_event():
    names, weights = ["teds", "table_validity"], [1.0, 0.5]
    per_func = _t([[1.0, 1.0], [0.4, 1.0], [0.0, 0.0], [NAN, NAN]])
    totals = total_reward(per_func, _t(weights))  # (w . s) / 1.5
    torch.testing.assert_close(totals, _t([1.0, 0.9 / 1.5, 0.0, NAN]), equal_nan=True, rtol=0, atol=1e-12)
    raw = GroupAdvantage("maxrl", names, weights, 4, maxrl=MaxRLConfig(denominator_floor=0.1))
    adv, metrics = raw.compute(per_func)
    mean = (1.0 + 0.6) / 3
    torch.testing.assert_close(adv, _t([(1 - mean) / (mean + 1e-6), (0.6 - mean) / (mean + 1e-6),
                                        -mean / (mean + 1e-6), 0.0]), rtol=0, atol=1e-12)
    assert metrics["maxrl/reward_mean"] == pytest.approx(mean)
    event = GroupAdvantage("maxrl", names, weights, 4, maxrl=MaxRLConfig(success={"teds": 0.9}))
    adv, metrics = event.compute(per_func)  # events [1, 0, 0, NaN]: (1 - 1/3) / (1/3 + 1e-6) ...
    p = 1 / 3
    torch.testing.assert_close(adv, _t([(1 - p) / (p + 1e-6), -p / (p + 1e-6), -p / (p + 1e-6), 0.0]),
                               rtol=0, atol=1e-12)
    assert metrics["maxrl/success_rate"] == pytest.approx(p)
    assert math.isclose(GroupAdvantage("maxrl_ustat", names, weights, 4).compute(per_func)[0][0].item(),
                        (1 + 1.4 / 2 + 0.4 / 1) * 1.0 - 1.0)  # failures {0.4, 1}: e = 1, 1.4, 0.4


def test_unjudged_rows_leave_their_group_for_both_estimators():
    # An all-zero group with an unjudged row carries no signal: every row gets 0, not -1 for the zeros.
    # A group with one judged row is its own mean (0); an unjudged group is all 0 and raises nothing.
    rewards = _t([0, 0, 0, NAN, 1, NAN, NAN, NAN, NAN, NAN, NAN, NAN])
    zeros = _t([0.0] * 12)
    torch.testing.assert_close(maxrl_ustat_advantages(rewards, 4), zeros, rtol=0, atol=0)
    torch.testing.assert_close(maxrl_advantages(rewards, 4), zeros, rtol=0, atol=0)


def test_ustat_takes_a_total_a_rounding_error_above_one_as_exactly_one():
    # total_reward divides by the weights' sum, which can land a hair above 1; the range check lets up to 1e-6
    # through and the estimator must then see 1, so the 0/1 identity still gives [N - 1, -1, -1, -1] exactly
    # (taken as 1 + 5e-7, A_0 would be 4 * (1 + 5e-7) - 1 = 3 + 2e-6).
    torch.testing.assert_close(maxrl_ustat_advantages(_t([1 + 5e-7, 0, 0, 0]), 4), _t([3.0, -1, -1, -1]),
                               rtol=0, atol=1e-12)
    # the tolerance includes its edge: 1 + 1e-6 is still a 1
    torch.testing.assert_close(maxrl_ustat_advantages(_t([0, 1 + 1e-6, 0, 0]), 4), _t([-1, 3.0, -1, -1]),
                               rtol=0, atol=1e-12)


def test_advantages_come_back_in_the_rewards_dtype():
    # The trainer hands float32 rewards and writes the result into its float32 advantages.
    rewards = torch.tensor([1.0, 0.5, 0.0, 0.5], dtype=torch.float32)
    official = maxrl_advantages(rewards, 4)
    ustat = maxrl_ustat_advantages(rewards, 4)
    assert official.dtype == torch.float32 and ustat.dtype == torch.float32
    # official: mean 0.5, so (r - 0.5) / 0.500001
    torch.testing.assert_close(official, torch.tensor([0.5, 0, -0.5, 0]) / 0.500001, rtol=0, atol=1e-6)
    # U-statistic: w_0 over the others' failures {0.5, 1, 0.5}: e = 1, 2, 1.25, 0.25 -> 1 + 2/3 + 1.25/3 + 0.25 = 7/3,
    # A_0 = 4/3; w_1 over {0, 1, 0.5}: e = 1, 1.5, 0.5, 0 -> 1 + 1.5/3 + 0.5/3 = 5/3, A_1 = 5/6 - 1 = -1/6; A_2 = -1
    torch.testing.assert_close(ustat, torch.tensor([4 / 3, -1 / 6, -1.0, -1 / 6]), rtol=0, atol=1e-6)


def test_an_unknown_success_component_is_named_with_the_configured_ones():
    per_func = _t([[1.0, 1.0]])
    with pytest.raises(ValueError, match=r"grpo.maxrl.success: cells, rows not among the configured rewards "
                                         r"\(teds, text_accuracy\)"):
        success_events(per_func, ["teds", "text_accuracy"], {"rows": 0.5, "teds": 0.9, "cells": 0.5})


def test_a_score_a_hair_below_its_threshold_fails_the_success_event():
    # The threshold is compared in the scores' float64: as float32, 0.9 is 0.89999998 and 0.89999999 would pass.
    per_func = _t([[0.89999999], [0.9]])
    torch.testing.assert_close(success_events(per_func, ["teds"], {"teds": 0.9}), _t([0.0, 1.0]), rtol=0, atol=0)
