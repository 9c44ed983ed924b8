"""The advantage switch (`grpo.advantage`): which rewards each estimator sees (the weighted total or the success
event), its step metrics, and the config errors, on hand-computed reward matrices."""
from __future__ import annotations

import math

import pytest
import torch

from firered_ocr.training.methods import (AdvantageConfigError, GroupAdvantage, MaxRLConfig, ProsperConfig,
                                          total_reward)
from firered_ocr.training.methods.advantages import check_advantage_config
from firered_ocr.training.methods.prosper import ProsperConfigError

NAN = float("nan")
NAMES = ["teds", "text_accuracy"]


def _t(values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype)


def test_total_reward_is_the_weighted_mean_with_unjudged_components_counting_zero():
    per_func = _t([[1.0, 0.5], [NAN, 1.0], [NAN, NAN]], torch.float32)
    totals = total_reward(per_func, _t([2.0, 1.0]))
    # (2 * 1 + 0.5) / 3; (0 + 1) / 3; nothing judged: NaN. In the matrix's dtype (the trainer's float32).
    torch.testing.assert_close(totals, _t([2.5 / 3, 1 / 3, NAN], torch.float32), equal_nan=True, rtol=0, atol=1e-7)


def test_maxrl_on_the_total_reward_uses_the_denominator_floor():
    # weights 1 and 0.3: totals [(0.4 + 0.3) / 1.3, 0, 0.3 / 1.3, NaN] = [7/13, 0, 3/13, NaN]; mean of the judged
    # rows 10/39 is under the floor 0.5, so A = (r - 10/39) / (0.5 + 1e-6) = [11, -10, -1] / 39 / 0.500001.
    # A second group with one judged row (total 0.78 / 1.3 = 0.6) is its own mean: A = 0, group mean 0.6.
    per_func = _t([[0.4, 1.0], [0.0, 0.0], [0.0, 1.0], [NAN, NAN], [0.6, 0.6], [NAN, NAN], [NAN, NAN], [NAN, NAN]])
    adv, metrics = GroupAdvantage("maxrl", NAMES, [1.0, 0.3], 4, maxrl=MaxRLConfig(denominator_floor=0.5)).compute(
        per_func)
    expected = [11 / 39 / 0.500001, -10 / 39 / 0.500001, -1 / 39 / 0.500001, 0.0, 0.0, 0.0, 0.0, 0.0]
    torch.testing.assert_close(adv, _t(expected), rtol=0, atol=1e-12)
    assert metrics == pytest.approx({"maxrl/reward_mean": (10 / 39 + 0.6) / 2, "maxrl/all_zero_group_frac": 0.0,
                                     "maxrl/advantage_max": expected[0]}, rel=1e-12)


def _success_matrix():
    # teds per row; text_accuracy judges every row (so no row is unscorable). With success {teds: 0.9} the events
    # are group 1 [1, 0, 0, NaN] (teds did not judge row 4) and group 2 [0, 0, 0, 0].
    teds = [1.0, 0.0, 0.25, NAN, 0.5, 0.25, 0.0, 0.875]
    return _t([[s, 1.0] for s in teds], torch.float32)  # float32 like the trainer's gathered rewards


def test_maxrl_on_a_success_event_is_the_authors_formula_whatever_the_floor():
    cfg = MaxRLConfig(success={"teds": 0.9}, denominator_floor=0.5)  # the floor is for raw totals only
    adv, metrics = GroupAdvantage("maxrl", NAMES, [1.0, 1.0], 4, maxrl=cfg).compute(_success_matrix())
    p = 1 / 3  # group 1's success rate over its 3 judged rows
    expected = [(1 - p) / (p + 1e-6), -p / (p + 1e-6), -p / (p + 1e-6), 0.0, 0.0, 0.0, 0.0, 0.0]
    torch.testing.assert_close(adv, _t(expected), rtol=0, atol=1e-12)
    # reward_mean: the mean of the group means (1/3 and 0); success_rate: over the 7 judged rows
    assert metrics == pytest.approx({"maxrl/reward_mean": 1 / 6, "maxrl/all_zero_group_frac": 0.5,
                                     "maxrl/advantage_max": expected[0], "maxrl/success_rate": 1 / 7}, rel=1e-12)


def test_the_u_statistic_takes_the_same_success_event():
    cfg = MaxRLConfig(success={"teds": 0.9})
    adv, metrics = GroupAdvantage("maxrl_ustat", NAMES, [1.0, 1.0], 4, maxrl=cfg).compute(_success_matrix())
    # group 1 has N = 3 judged rows, one success: [N - 1, -1, -1], the unjudged row 0; group 2 all zero: 0
    torch.testing.assert_close(adv, _t([2.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0]), rtol=0, atol=1e-12)
    assert metrics["maxrl/advantage_max"] == pytest.approx(2.0, abs=1e-12)


def test_prosper_plays_on_the_components_not_on_the_total():
    cfg = ProsperConfig(link="linear", hard_components=[])
    per_func = _t([[1.0, 0.6], [0.0, 0.5], [0.5, 0.4]])
    adv, metrics = GroupAdvantage("prosper", NAMES, [1.0, 1.0], 3, prosper=cfg).compute(per_func)
    # linear link: (s_teds - mean) / 2 on the worst component (teds spreads most); the total would give
    # [0.1, -0.2, 0.1] / 2 and not these
    torch.testing.assert_close(adv, _t([0.25, -0.25, 0.0]), rtol=0, atol=1e-12)
    assert metrics["prosper/objective_share/teds"] == 1.0


def test_grpo_has_no_estimator_here():
    with pytest.raises(AdvantageConfigError, match="grpo.advantage: 'grpo' has no estimator here"):
        GroupAdvantage("grpo", NAMES, [1.0, 1.0], 2).compute(_t([[1.0, 1.0], [0.0, 0.0]]))


def test_bad_advantage_settings_name_their_key():
    with pytest.raises(AdvantageConfigError, match="grpo.advantage: one of grpo, maxrl, maxrl_ustat, prosper, not 'max'"):
        check_advantage_config("max", MaxRLConfig(), ProsperConfig(), NAMES)
    for kind in ("maxrl", "maxrl_ustat"):
        with pytest.raises(AdvantageConfigError, match=r"grpo.maxrl.success: cells, rows not among the configured "
                                                       r"rewards \(teds, text_accuracy\)"):
            check_advantage_config(kind, MaxRLConfig(success={"rows": 0.5, "cells": 0.5, "teds": 0.9}),
                                   ProsperConfig(), NAMES)
        for floor in (-0.1, math.nan):
            with pytest.raises(AdvantageConfigError, match=f"grpo.maxrl.denominator_floor: must be >= 0, not {floor}"):
                check_advantage_config(kind, MaxRLConfig(denominator_floor=floor), ProsperConfig(), NAMES)
        check_advantage_config(kind, MaxRLConfig(denominator_floor=0.0), ProsperConfig(beta=0), NAMES)  # not used
    with pytest.raises(ProsperConfigError, match="grpo.prosper.beta: must be > 0"):
        check_advantage_config("prosper", MaxRLConfig(), ProsperConfig(beta=0), NAMES)
    with pytest.raises(ProsperConfigError, match="grpo.prosper.temperatures: cells not among"):
        check_advantage_config("prosper", MaxRLConfig(), ProsperConfig(temperatures={"cells": 0.2}), NAMES)
    # a section only the other estimators read is not checked
    check_advantage_config("prosper", MaxRLConfig(success={"cells": 0.5}, denominator_floor=-1), ProsperConfig(), NAMES)
    check_advantage_config("grpo", MaxRLConfig(success={"cells": 0.5}), ProsperConfig(beta=0), NAMES)
