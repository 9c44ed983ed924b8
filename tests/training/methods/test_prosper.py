"""PROSPER's per-group game: the linear-link identity to GRPO on the worst component, hand-computed groups,
the objective set, and the step diagnostics."""
from __future__ import annotations

import math

import pytest
import torch

from firered_ocr.training.methods import GroupAdvantage, ProsperConfig, group_game, prosper_advantages
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
    assert nothing.advantages.tolist() == [0.0, 0.0, 0.0] and nothing.weights.tolist() == [0.0]


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
    with pytest.raises(ProsperConfigError, match="grpo.prosper.link"):
        ProsperConfig(link="hard").validate()
    with pytest.raises(ProsperConfigError, match="grpo.prosper.beta: must be > 0"):
        ProsperConfig(beta=0).validate()
    with pytest.raises(ProsperConfigError, match="grpo.prosper.temperatures: teds_s not among"):
        GroupAdvantage("prosper", ["teds"], [1.0], 4, prosper=ProsperConfig(temperatures={"teds_s": 0.2}))
