"""The reward wiring in isolation (no model): what a registry function receives from TRL's call, what TRL gets
back, what is logged when a reward fails, and the exact errors a bad `rewards:` mapping gives."""
from __future__ import annotations

import logging

import pytest

from firered_ocr.training.reward_wiring import RewardConfigError, adapt_reward, build_reward_funcs

CHAT = [[{"role": "assistant", "content": "12"}], [{"role": "assistant", "content": "7"}]]


class Recorder:
    def __init__(self, values=None, hit_flags: bool = True):
        self.calls: list[tuple] = []
        self.values = values
        self.hit_flags = hit_flags

    def __call__(self, texts, gts, hit_max_tokens=None):
        self.calls.append((list(texts), gts, hit_max_tokens))
        return self.values if self.values is not None else [1] * len(texts)


def test_registry_gets_texts_ground_truths_as_text_and_hit_flags():
    rec = Recorder()
    fn = adapt_reward("rec", rec, max_completion_length=3)
    assert fn.__name__ == fn.__qualname__ == "rec"
    out = fn(prompts=None, completions=CHAT, completion_ids=[[1, 2, 3], [1]], ground_truth=[12, None])
    assert out == [1.0, 1.0] and all(type(v) is float for v in out)
    assert rec.calls == [(["12", "7"], ["12", None], [True, False])]
    fn(prompts=None, completions=CHAT, completion_ids=[[1], [1]])  # no ground-truth column at all
    assert rec.calls[-1] == (["12", "7"], [None, None], [False, False])
    other = adapt_reward("rec", rec, gt_column="gt", max_completion_length=3)
    other(prompts=None, completions=CHAT, completion_ids=[[1], [1]], gt=["a", "b"], ground_truth=["x", "y"])
    assert rec.calls[-1][1] == ["a", "b"]


def test_hit_flags_only_for_functions_that_take_them_and_only_with_a_budget():
    def plain(texts, gts):
        return [0.5] * len(texts)

    assert adapt_reward("p", plain, max_completion_length=3)(completions=CHAT, completion_ids=[[1], [1]]) == [0.5, 0.5]
    rec = Recorder()
    adapt_reward("r", rec)(completions=CHAT, completion_ids=[[1, 2, 3], [1]])  # no budget: the text decides
    assert rec.calls[-1][2] is None

    class NoSignature:  # a callable whose signature cannot be read is not told about hit flags
        @property
        def __signature__(self):
            raise ValueError("no signature")

        def __call__(self, texts, gts, **kwargs):
            assert not kwargs
            return [0.25] * len(texts)

    assert adapt_reward("n", NoSignature(), max_completion_length=3)(completions=CHAT,
                                                                     completion_ids=[[1], [1]]) == [0.25, 0.25]


def test_none_stays_none_and_numbers_become_floats():
    fn = adapt_reward("rec", Recorder(values=[None, 1]))
    assert fn(completions=CHAT) == [None, 1.0]


def test_a_failing_or_miscounting_reward_scores_none_and_logs_why(caplog):
    def broken(texts, gts):
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="firered_ocr.training.reward_wiring"):
        assert adapt_reward("broken", broken)(completions=CHAT) == [None, None]
        assert adapt_reward("short", Recorder(values=[1.0]))(completions=CHAT) == [None, None]
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["reward 'broken' failed on a batch of 2 completions; scoring them None",
                        "reward 'short' failed on a batch of 2 completions; scoring them None"]
    assert str(caplog.records[1].exc_info[1]) == "returned 1 values for 2 completions"


def test_bad_reward_mappings_are_errors_that_name_the_key_and_the_choices():
    funcs = {"b": Recorder(), "a": Recorder()}
    cases = [({}, "rewards: empty mapping; give at least one of a, b"),
             ({"c": 1.0}, "rewards.c: unknown reward; known: a, b"),
             ({"a": True}, "rewards.a: weight must be a number >= 0, not True"),
             ({"a": "1"}, "rewards.a: weight must be a number >= 0, not '1'"),
             ({"a": -0.5}, "rewards.a: weight must be a number >= 0, not -0.5"),
             ({"a": 0, "b": 0.0}, "rewards: every weight is 0; at least one reward must count")]
    for mapping, message in cases:
        with pytest.raises(RewardConfigError) as err:
            build_reward_funcs(mapping, funcs=funcs)
        assert str(err.value) == message
    out, weights = build_reward_funcs({"b": 0, "a": 2}, funcs=funcs)  # a zero weight is skipped, not the end
    assert [f.__name__ for f in out] == ["a"] and weights == [2.0] and type(weights[0]) is float
