"""rewards.reward_funcs: the batch rewards TRL calls (REWARD_FUNCS): ground truths, truncation flags, chat
completions, argument checks, a failing component logged and scored None, names."""
from __future__ import annotations

import logging
import re

import pytest

from rewards import reward_funcs
from rewards.reward_funcs import REWARD_FUNCS, completion_text
from rewards.scoring import COMPONENTS, DEFAULT_WEIGHTS, PagePair, score_page

TABLE = "<table><tr><td>a</td><td>b</td></tr></table>"
PAGE = f"# Title\n\nSome text.\n\n{TABLE}\n"
ONE_CELL_OFF = PAGE.replace("<td>b</td>", "<td>c</td>")  # TEDS 1 - (1/1)/3: one cell renamed, 3 elements


@pytest.fixture
def funcs() -> dict:
    """The registry's functions, built afresh. REWARD_FUNCS is built once, when the module is imported;
    building the same functions here runs that code at test time, where instrumented code (mutation
    testing) takes effect. test_registry_is_these_functions checks that the two agree."""
    return {name: reward_funcs._batch(name) for name in REWARD_FUNCS}


def test_registry_is_these_functions(funcs: dict) -> None:
    assert set(REWARD_FUNCS) == set(funcs) == {*COMPONENTS, "total"}
    preds, gts = [PAGE, ONE_CELL_OFF, "no table"], [PAGE, PAGE, None]
    for name, fn in REWARD_FUNCS.items():
        assert fn.__name__ == funcs[name].__name__
        assert fn(preds, gts) == funcs[name](preds, gts), name


def test_each_reward_is_named_and_documented_after_its_component(funcs: dict) -> None:
    for name, fn in funcs.items():
        assert fn.__name__ == fn.__qualname__ == f"reward_{name}"
        assert fn.__doc__ == f"The {name!r} reward of each completion against its ground truth (None: cannot judge)."


def test_each_completion_is_scored_against_its_own_ground_truth(funcs: dict) -> None:
    assert funcs["teds"]([PAGE, ONE_CELL_OFF], [PAGE, PAGE]) == [1.0, pytest.approx(2 / 3)]
    assert funcs["teds"]([ONE_CELL_OFF, PAGE], (PAGE, ONE_CELL_OFF)) == [pytest.approx(2 / 3)] * 2
    assert funcs["teds"]([PAGE], [PAGE.encode()]) == [1.0]  # a ground truth in bytes is read as UTF-8 text


def test_without_ground_truth_the_ground_truth_components_cannot_judge(funcs: dict) -> None:
    # None, not 0: a page with a table and no ground truth has nothing to compare against (an empty ground
    # truth would score the table as invented: 0).
    assert funcs["teds"]([PAGE, ONE_CELL_OFF]) == [None, None]
    assert funcs["teds"]([PAGE, ONE_CELL_OFF], [None, PAGE]) == [None, pytest.approx(2 / 3)]
    assert funcs["teds"]([PAGE], [""]) == [0.0]
    assert funcs["table_validity"]([PAGE], None) == [1.0]  # validity components judge the prediction alone


def test_total_is_the_page_total_and_components_are_their_own(funcs: dict) -> None:
    want = score_page(ONE_CELL_OFF, PAGE)
    assert want.total != want.components["teds"]  # so that the two cannot be mistaken for each other
    assert funcs["total"]([ONE_CELL_OFF], [PAGE]) == [want.total]
    assert funcs["teds"]([ONE_CELL_OFF], [PAGE]) == [want.components["teds"]]


def test_hit_max_tokens_marks_a_completion_truncated(funcs: dict) -> None:
    pages, gts = [PAGE, PAGE], [PAGE, PAGE]
    assert funcs["no_truncation"](pages, gts) == [1.0, 1.0]  # no flags: the text decides
    assert funcs["no_truncation"](pages, gts, hit_max_tokens=[False, True]) == [1.0, 0.0]
    assert funcs["no_truncation"](pages, gts, hit_max_tokens=[0, 1]) == [1.0, 0.0]  # any truthy flag
    # Every other component is 1, so the total loses exactly no_truncation's share of the weights.
    share = DEFAULT_WEIGHTS["no_truncation"] / sum(DEFAULT_WEIGHTS.values())
    assert funcs["total"](pages, gts, hit_max_tokens=[False, True]) == [1.0, pytest.approx(1.0 - share)]


def test_lengths_must_match_and_the_error_says_which(funcs: dict) -> None:
    with pytest.raises(ValueError, match=re.escape(
            "reward 'teds': 2 completions but 1 ground truths and 2 hit_max_tokens flags")):
        funcs["teds"]([PAGE, PAGE], [PAGE])
    with pytest.raises(ValueError, match=re.escape(
            "reward 'total': 1 completions but 1 ground truths and 2 hit_max_tokens flags")):
        funcs["total"]([PAGE], [PAGE], hit_max_tokens=[True, False])


def test_chat_completions_are_scored_by_their_last_message(funcs: dict) -> None:
    chat = [{"role": "user", "content": "Transcribe the page."}, {"role": "assistant", "content": ONE_CELL_OFF}]
    assert funcs["teds"]([chat, tuple(chat)], [PAGE, PAGE]) == [pytest.approx(2 / 3)] * 2
    assert completion_text(chat) == completion_text(tuple(chat)) == ONE_CELL_OFF
    assert completion_text([{"role": "assistant", "content": None}]) == ""
    # Anything else is read as text: bytes as UTF-8, None as empty, other objects as str().
    assert completion_text(b"caf\xc3\xa9") == "café"
    assert completion_text(None) == ""
    assert completion_text(["not", "messages"]) == "['not', 'messages']"
    assert completion_text([]) == "[]"


def test_a_failing_component_is_logged_with_its_traceback_and_scored_none(
        funcs: dict, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(self: PagePair) -> float:
        raise RuntimeError("boom")

    monkeypatch.setattr(PagePair, "no_wrapper", broken)
    # Texts no other test scores: the (completion, ground truth) pair and its components are cached.
    chat = [{"role": "assistant", "content": "a page no other test writes"}]
    with caplog.at_level(logging.ERROR, logger="rewards.reward_funcs"):
        assert funcs["no_wrapper"]([chat, "another page"], [None, None]) == [None, None]
        assert funcs["total"](["a third page"]) == [None]  # the total needs every weighted component
        assert funcs["teds"](["a third page"], [PAGE]) == [0.0]  # the others still score
    got = [(r.name, r.levelno, r.getMessage(), type(r.exc_info[1])) for r in caplog.records]
    assert got == [
        ("rewards.reward_funcs", logging.ERROR,
         "reward 'no_wrapper' failed on a completion (27 characters); scoring it None", RuntimeError),
        ("rewards.reward_funcs", logging.ERROR,
         "reward 'no_wrapper' failed on a completion (12 characters); scoring it None", RuntimeError),
        ("rewards.reward_funcs", logging.ERROR,
         "reward 'total' failed on a completion (12 characters); scoring it None", RuntimeError),
    ]
