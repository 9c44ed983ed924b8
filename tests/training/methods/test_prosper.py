"""PROSPER's per-group game: the linear-link identity to GRPO on the worst component, hand-computed groups,
the objective set, and the step diagnostics."""
from __future__ import annotations

import math

import pytest
import torch

from firered_ocr.training.methods import GroupAdvantage, ProsperConfig, group_game, preferences, prosper_advantages
from firered_ocr.training.methods.prosper import ProsperConfigError

NAN = float("nan")


def _t(values):
    return torch.tensor(values, dtype=torch.float64)


def test_linear_link_is_grpo_without_std_on_each_pages_worst_component():
    cfg = ProsperConfig(link="linear", hard_components=[], beta=0.1)
    names = ["teds", "text_accuracy", "tag_closure"]
    # page 1: teds spreads most -> V_teds is the lowest (V_k <= 0, more spread = lower); page 2: text_accuracy
    page1 = [[1.0, 0.6, 0.9], [0.0, 0.5, 0.9], [0.5, 0.4, 0.9]]
    page2 = [[0.5, 1.0, 0.2], [0.5, 0.0, 0.3], [0.4, 0.0, 0.2]]
    adv, metrics = prosper_advantages(_t(page1 + page2), names, 3, cfg)
    expected = [0.25, -0.25, 0.0,  # (s_teds - 0.5) / 2
                1 / 3, -1 / 6, -1 / 6]  # (s_text - 1/3) / 2
    torch.testing.assert_close(adv, _t(expected), rtol=0, atol=1e-12)
    # V_teds on page 1: r = (mean s - s_j)/2 = [-0.25, 0.25, 0]; V = -0.1 log mean exp(-r/0.1)
    v_teds_page1 = -0.1 * math.log((math.exp(2.5) + math.exp(-2.5) + 1) / 3)
    game = group_game(_t(page1), [("linear", 0.1)] * 3, cfg)
    assert game.values[0].item() == pytest.approx(v_teds_page1, abs=1e-12)
    assert game.values[2].item() == 0.0 and game.weights.tolist() == [1.0, 0.0, 0.0]
    assert metrics["prosper/objective_share/teds"] == 0.5 and metrics["prosper/objective_share/text_accuracy"] == 0.5
    assert metrics["prosper/objective_share/tag_closure"] == 0.0


def test_sigmoid_and_hard_links_on_a_hand_computed_group():
    cfg = ProsperConfig(beta=0.1, temperature=0.1)  # teds: sigmoid tau 0.1; table_validity: hard (validity)
    scores = _t([[0.9, 1.0], [0.6, 0.0], [0.5, 1.0]])
    game = group_game(scores, cfg.links(["teds", "table_validity"]), cfg)
    # By hand (see the docstring of prosper.py): r_teds = [-0.31153, 0.07384, 0.23769], r_valid = [-1/6, 1/3, -1/6]
    # V = [-0.204169, -0.126456] -> teds is the worst objective; nu = [0.975305, 0.020678, 0.004017]
    torch.testing.assert_close(game.values, _t([-0.20416858949010522, -0.12645648697806358]), rtol=0, atol=1e-12)
    assert game.weights.tolist() == [1.0, 0.0]
    torch.testing.assert_close(game.advantages, _t([0.31264902835817565, -0.1391151840682745, -0.1735338442899012]),
                               rtol=0, atol=1e-12)
    assert game.advantages.sum().item() == pytest.approx(0.0, abs=1e-15)  # centred in the group


def test_a_component_that_cannot_judge_the_page_leaves_its_objective_set():
    cfg = ProsperConfig(link="linear", hard_components=[])
    with_nan = _t([[1.0, 0.6, NAN], [0.0, 0.5, NAN], [0.5, 0.4, NAN]])
    game = group_game(with_nan, [("linear", 0.1)] * 3, cfg)
    assert math.isnan(game.values[2].item()) and game.weights[2].item() == 0.0
    torch.testing.assert_close(game.advantages, _t([0.25, -0.25, 0.0]), rtol=0, atol=1e-12)
    nothing = group_game(_t([[NAN], [NAN], [NAN]]), [("linear", 0.1)], cfg)
    # an empty set: no game, so float64 zeros, no value, no weight and no cycle
    torch.testing.assert_close(nothing.advantages, _t([0.0, 0.0, 0.0]), rtol=0, atol=0)
    torch.testing.assert_close(nothing.weights, _t([0.0]), rtol=0, atol=0)
    assert math.isnan(nothing.values[0].item()) and nothing.cycle is False


def test_three_cycles_of_the_majority_vote_are_counted_per_group():
    cfg = ProsperConfig(link="linear", hard_components=[])
    names = ["teds", "text_accuracy", "tag_closure"]
    condorcet = [[1.0, 0.0, 0.5], [0.5, 1.0, 0.0], [0.0, 0.5, 1.0]]  # a>b>c, b>c>a, c>a>b: a cycle
    transitive = [[1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]]
    _, metrics = prosper_advantages(_t(condorcet + transitive), names, 3, cfg)
    assert metrics["prosper/cycle_frac"] == 0.5
    # teds is [1, 0.5, 0] in both groups: r = [-0.25, 0, 0.25], the same V; equal V's: the first component wins
    assert metrics["prosper/V/teds"] == pytest.approx(-0.1 * math.log((math.exp(2.5) + 1 + math.exp(-2.5)) / 3))
    assert metrics["prosper/objective_share/teds"] == 1.0


def test_softmin_spreads_the_objective_weights():
    cfg = ProsperConfig(link="linear", hard_components=[], objective="softmin", objective_temperature=0.05)
    scores = _t([[1.0, 0.6], [0.0, 0.5], [0.5, 0.4]])
    game = group_game(scores, [("linear", 0.1)] * 2, cfg)
    v = game.values
    expected_w = torch.softmax(-v / 0.05, dim=0)
    torch.testing.assert_close(game.weights, expected_w, rtol=0, atol=1e-15)
    assert 0.5 < game.weights[0].item() < 1.0
    # linear link: q is w-weighted GRPO-without-std over the components
    expected = (expected_w[0] * (scores[:, 0] - 0.5) + expected_w[1] * (scores[:, 1] - 0.5)) / 2
    torch.testing.assert_close(game.advantages, expected, rtol=0, atol=1e-12)


def test_bad_settings_name_their_key():
    ProsperConfig(link="linear", objective="softmin", temperatures={"teds": 0.2}, hard_margin=0.0).validate()
    with pytest.raises(ProsperConfigError, match="grpo.prosper.link"):
        ProsperConfig(link="hard").validate()
    with pytest.raises(ProsperConfigError, match=r"grpo.prosper.objective: one of \('argmin', 'softmin'\), not 'max'"):
        ProsperConfig(objective="max").validate()
    with pytest.raises(ProsperConfigError, match="grpo.prosper.temperatures.teds: must be > 0, not 0.0"):
        ProsperConfig(temperatures={"teds": 0.0}).validate()
    with pytest.raises(ProsperConfigError, match="grpo.prosper.hard_margin: must be >= 0, not -0.1"):
        ProsperConfig(hard_margin=-0.1).validate()
    with pytest.raises(ProsperConfigError, match=r"grpo.prosper.temperatures: cells, teds_s not among the configured "
                                                 r"rewards \(teds, text_accuracy\)"):
        ProsperConfig(temperatures={"teds_s": 0.2, "cells": 0.2, "teds": 0.2}).links(["teds", "text_accuracy"])
    with pytest.raises(ProsperConfigError, match="grpo.prosper.beta: must be > 0"):
        ProsperConfig(beta=0).validate()
    with pytest.raises(ProsperConfigError, match="grpo.prosper.temperatures: teds_s not among"):
        GroupAdvantage("prosper", ["teds"], [1.0], 4, prosper=ProsperConfig(temperatures={"teds_s": 0.2}))


def test_each_component_gets_its_link_and_temperature_in_column_order():
    cfg = ProsperConfig(temperatures={"teds": 0.3})
    assert cfg.links(["teds", "text_accuracy", "table_validity"]) == [
        ("sigmoid", 0.3), ("sigmoid", 0.1), ("hard", 0.1)]  # table_validity is a validity component: hard


def test_hard_link_ties_within_the_margin_and_nan_pairs_are_indifferent():
    # margin 0 (the default): any positive difference is a win
    default = preferences(_t([[0.5], [0.0], [0.5]]), [("hard", 0.1)])[0]
    torch.testing.assert_close(default, _t([[0.5, 1.0, 0.5], [0.0, 0.5, 0.0], [0.5, 1.0, 0.5]]), rtol=0, atol=0)
    # margin 0.1: 0.05 apart is a tie, 0.25 apart is a win / loss
    margin = preferences(_t([[0.05], [0.0], [0.3]]), [("hard", 0.1)], hard_margin=0.1)[0]
    torch.testing.assert_close(margin, _t([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [1.0, 1.0, 0.5]]), rtol=0, atol=0)
    # a completion the component did not judge: 1/2 against everyone, under every link
    s = 1 / (1 + math.exp(-10))  # sigmoid(1 / 0.1)
    torch.testing.assert_close(preferences(_t([[1.0, 1.0], [NAN, NAN], [0.0, 0.0]]), [("sigmoid", 0.1), ("linear", 0.1)]),
                               _t([[[0.5, 0.5, s], [0.5, 0.5, 0.5], [1 - s, 0.5, 0.5]],
                                   [[0.5, 0.5, 1.0], [0.5, 0.5, 0.5], [0.0, 0.5, 0.5]]]), rtol=0, atol=1e-15)
    with pytest.raises(ProsperConfigError, match="grpo.prosper: unknown link 'step'"):
        preferences(_t([[1.0], [0.0]]), [("step", 0.1)])


def test_step_diagnostics_average_over_played_groups_and_the_pages_that_judged_each_component():
    cfg = ProsperConfig(link="linear", hard_components=[], beta=0.1)
    names = ["teds", "text_accuracy"]
    groups = [[[NAN, NAN], [0.2, NAN], [NAN, NAN]],  # one scorable completion: no game, all 0
              [[1.0, NAN], [0.0, NAN], [NAN, NAN]],  # two scorable: teds alone is in the set
              [[0.5, 1.0], [0.5, 0.0], [0.4, 0.0]],  # text_accuracy spreads most: the worst objective
              [[1.0, NAN], [0.5, NAN], [0.0, NAN]]]  # teds alone again
    adv, metrics = prosper_advantages(_t([row for g in groups for row in g]), names, 3, cfg)
    # linear link: (s_k* - mean over the scorable rows) / 2; unscorable rows 0
    torch.testing.assert_close(adv, _t([0, 0, 0, 0.25, -0.25, 0, 1 / 3, -1 / 6, -1 / 6, 0.25, 0, -0.25]),
                               rtol=0, atol=1e-12)

    def v(neg_r_over_beta):  # V = -beta log mean_j exp(-r_j / beta), r_j = (mean s - s_j) / 2
        return -0.1 * math.log(sum(math.exp(x) for x in neg_r_over_beta) / len(neg_r_over_beta))

    v_teds = [v([2.5, -2.5]), v([1 / 6, 1 / 6, -1 / 3]), v([2.5, 0.0, -2.5])]
    assert metrics["prosper/V/teds"] == pytest.approx(sum(v_teds) / 3, rel=0, abs=1e-12)
    assert metrics["prosper/V/text_accuracy"] == pytest.approx(v([10 / 3, -5 / 3, -5 / 3]), rel=0, abs=1e-12)
    assert metrics["prosper/objective_share/teds"] == pytest.approx(2 / 3, rel=1e-15)
    assert metrics["prosper/objective_share/text_accuracy"] == pytest.approx(1 / 3, rel=1e-15)
    assert metrics["prosper/cycle_frac"] == 0.0


def test_a_step_without_a_playable_group_reports_zeros_and_keeps_the_rewards_dtype():
    per_func = torch.tensor([[NAN, NAN], [0.3, NAN], [NAN, NAN]], dtype=torch.float32)
    adv, metrics = prosper_advantages(per_func, ["teds", "text_accuracy"], 3, ProsperConfig())
    torch.testing.assert_close(adv, torch.zeros(3, dtype=torch.float32), rtol=0, atol=0)
    assert metrics == {"prosper/cycle_frac": 0.0, "prosper/objective_share/teds": 0.0,
                       "prosper/objective_share/text_accuracy": 0.0}  # no V for components never judged in a game


def test_the_objective_is_chosen_within_the_pages_set_under_argmin_and_softmin():
    # teds cannot judge the page (V would be 0, its preferences all 1/2); text_accuracy ties every completion,
    # so its V is 0 too: the tie must still go to the component that is in the set, not to the first column.
    scores = _t([[NAN, 0.5], [NAN, 0.5], [NAN, 0.5]])
    for objective in ("argmin", "softmin"):
        cfg = ProsperConfig(link="linear", hard_components=[], objective=objective)
        game = group_game(scores, [("linear", 0.1)] * 2, cfg)
        torch.testing.assert_close(game.weights, _t([0.0, 1.0]), rtol=0, atol=0)
        assert math.isnan(game.values[0].item()) and game.values[1].item() == 0.0


def test_the_hard_margin_reaches_the_game():
    # margin 0.1: 1.0 and 0.95 tie, both beat 0.0. r = mean_i (P(i > j) - 1/2) = [-1/6, -1/6, 1/3]; for any
    # comparator nu, q_i - mean q = [1/6, 1/6, -1/3] (with margin 0, 1.0 would beat 0.95 and they would differ)
    cfg = ProsperConfig(hard_margin=0.1, beta=0.1)
    game = group_game(_t([[1.0], [0.95], [0.0]]), [("hard", 0.1)], cfg)
    torch.testing.assert_close(game.advantages, _t([1 / 6, 1 / 6, -1 / 3]), rtol=0, atol=1e-12)
    v = -0.1 * math.log((2 * math.exp(10 / 6) + math.exp(-10 / 3)) / 3)
    assert game.values[0].item() == pytest.approx(v, rel=0, abs=1e-12)
