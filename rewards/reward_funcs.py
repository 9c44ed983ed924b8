"""Batch reward functions for GRPO, one signature for all:
``f(completions, ground_truths, hit_max_tokens=None) -> rewards``.

``hit_max_tokens`` (optional, one bool per completion) says generation stopped at its token limit: a
truncation whatever the text says (``no_truncation`` scores 0, and ``total`` with it). The trainer knows
it; the text alone does not always show it.

``REWARD_FUNCS[name]`` exists for every component of ``score_page.COMPONENTS`` and for ``"total"`` (the
default-weighted mean). Each returns one value per completion: a float in [0, 1], or None where the
component cannot judge (TRL turns None into NaN and leaves it out).

Mind how TRL combines them: it sums weighted rewards with ``nansum``, so inside one group a None weighs
like 0 against the completions that got a number. The ground-truth components are None only when
nothing on either side can be compared (no table on either page for teds), which is the same for a whole
group only if no completion writes one; ``table_count`` is the component that sees an invented table.

The (completion, ground truth) pair is cached, so the components of one batch share one parse and one
TEDS computation whichever order TRL calls them in. A completion may also come as TRL's chat form (a list
of ``{"role", "content"}`` messages): the last message's content is scored.

A reward that raises stops a training run: a component that fails on one completion logs the error with
its traceback and gives None for that completion (tests call ``score_page`` directly, where errors raise).
"""
from __future__ import annotations

import logging
from functools import lru_cache
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

from rewards.page.markdown_blocks import as_text
from rewards.scoring import COMPONENTS, PagePair

log = logging.getLogger(__name__)
RewardFn = Callable[[Sequence[object], Sequence["str | None"]], list["float | None"]]


def completion_text(completion: object) -> str:
    """A completion as text: a string as is, a chat (list of messages) as its last message's content."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)) and completion and isinstance(completion[-1], dict):
        return as_text(completion[-1].get("content"))
    return as_text(completion)


@lru_cache(maxsize=1024)
def _pair(pred: str, gt: str | None, hit_max_tokens: bool = False) -> PagePair:
    return PagePair(pred, gt, hit_max_tokens=hit_max_tokens)


def _batch(name: str) -> RewardFn:
    def reward(completions: Sequence[object], ground_truths: Sequence[str | None] | None = None,
               hit_max_tokens: Sequence[bool] | None = None) -> list[float | None]:
        gts = [None] * len(completions) if ground_truths is None else list(ground_truths)
        hits = [False] * len(completions) if hit_max_tokens is None else [bool(h) for h in hit_max_tokens]
        if len(gts) != len(completions) or len(hits) != len(completions):
            raise ValueError(f"reward {name!r}: {len(completions)} completions but {len(gts)} ground truths "
                             f"and {len(hits)} hit_max_tokens flags")
        out: list[float | None] = []
        for completion, gt, hit in zip(completions, gts, hits):
            try:
                pair = _pair(completion_text(completion), None if gt is None else as_text(gt), hit)
                out.append(pair.total() if name == "total" else pair.component(name))
            except Exception:  # noqa: BLE001 - see the module docstring: never stop a run, never hide it
                log.exception("reward %r failed on a completion (%d characters); scoring it None",
                              name, len(completion_text(completion)))
                out.append(None)
        return out

    reward.__name__ = f"reward_{name}"
    reward.__qualname__ = reward.__name__
    reward.__doc__ = f"The {name!r} reward of each completion against its ground truth (None: cannot judge)."
    return reward


REWARD_FUNCS: Mapping[str, RewardFn] = MappingProxyType({name: _batch(name) for name in (*COMPONENTS, "total")})
