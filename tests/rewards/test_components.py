"""The component table (rewards/components.py) is the one place components are declared: everything that
lists them must agree with it, and each row's "needs ground truth" must be what the scorer really does."""
from __future__ import annotations

from pathlib import Path

import pytest

import rewards
from rewards import components
from rewards.scoring import PagePair

REPO = Path(__file__).resolve().parents[2]
PAGE = "<table><tr><td>1</td><td>2</td></tr></table>\n\nText with \\(x^2\\).\n"


def test_every_list_of_components_is_built_from_the_table():
    names = tuple(c.name for c in components.TABLE)
    assert len(set(names)) == len(names)
    assert tuple(rewards.DEFAULT_WEIGHTS) == names
    assert dict(rewards.DEFAULT_WEIGHTS) == {c.name: c.weight for c in components.TABLE}
    assert set(rewards.REWARD_FUNCS) == {*names, "total"}
    assert set(components.GT_COMPONENTS) | set(components.VALIDITY_COMPONENTS) == set(names)
    assert not set(components.GT_COMPONENTS) & set(components.VALIDITY_COMPONENTS)


@pytest.mark.parametrize("component", components.TABLE, ids=lambda c: c.name)
def test_needs_ground_truth_is_what_the_scorer_does(component):
    without_gt = PagePair(PAGE).component(component.name)
    with_gt = PagePair(PAGE, PAGE).component(component.name)
    assert with_gt == 1.0  # a page against itself is perfect on every component
    if component.needs_ground_truth:
        assert without_gt is None
    else:
        assert without_gt is not None


def test_grpo_default_mix_and_app_diagnostics_come_from_the_table():
    from app.diagnostics import score_rows
    from firered_ocr.training.grpo import DEFAULT_REWARDS, GRPOStageConfig

    expected = {c.name: c.grpo_weight for c in components.TABLE if c.grpo_weight}
    assert DEFAULT_REWARDS == expected and GRPOStageConfig().rewards == expected
    rows = score_rows(rewards.score_page(PAGE, PAGE).components, 1.0)
    flags = {row[0]: row[2] for row in rows if row[0] in components.BY_NAME}
    assert flags == {c.name: "yes" if c.needs_ground_truth else "no" for c in components.TABLE}


def test_markdown_table_has_one_row_per_component_with_its_weights():
    lines = components.markdown_table().splitlines()
    assert len(lines) == 2 + len(components.TABLE)
    assert lines[2].startswith("| `teds` | yes | 2 | 1 | TEDS of the page")
    assert "| `tag_closure` | no | 0.5 | 0.5 |" in components.markdown_table()
