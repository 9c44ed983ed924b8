"""The project's reward registry (`rewards.REWARD_FUNCS`) adapted to TRL's reward-function signature.

TRL calls each reward function as ``f(prompts=..., completions=..., completion_ids=..., **columns)``:
completions arrive in chat form (lists of ``{"role", "content"}`` messages) and every other dataset
column (here the page's ``ground_truth``) comes as a keyword argument, one value per completion. The
registry's functions take ``(texts, ground_truths)``. `build_reward_funcs` turns a YAML mapping
``{name: weight}`` into TRL's two parallel lists (functions, weights).

Never raising is the contract here (a reward that raises stops the whole run: docs/training.md, "Library
behaviours"): a registry function that fails on a batch gives None for that batch, which TRL turns
into NaN and leaves out of the group's baseline; the error is logged with its traceback so it is seen, not hidden.
"""
from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

GT_COLUMN = "ground_truth"


class RewardConfigError(ValueError):
    """A `rewards:` mapping that names an unknown reward or gives a bad weight."""


def _takes_hit_flags(fn: Callable) -> bool:
    try:
        return "hit_max_tokens" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def adapt_reward(name: str, registry_fn: Callable[[list[str], list[str | None]], list[float | None]],
                 gt_column: str = GT_COLUMN, max_completion_length: int | None = None) -> Callable[..., list[float | None]]:
    """Wrap one registry function as a TRL reward function named `name` (TRL logs `rewards/<name>/mean`).

    With `max_completion_length`, a completion whose `completion_ids` (which TRL passes) reach that length
    was cut by the token budget; registry functions that take `hit_max_tokens` (the project's do) are told
    so, since a cut-off page can look complete as text.
    """
    pass_hits = max_completion_length is not None and _takes_hit_flags(registry_fn)

    def reward(prompts=None, completions=None, **kwargs) -> list[float | None]:
        from rewards.reward_funcs import completion_text  # TRL's chat form -> the assistant's text

        texts = [completion_text(c) for c in completions or []]
        gts = kwargs.get(gt_column)
        gts = [None] * len(texts) if gts is None else [None if g is None else str(g) for g in gts]
        ids = kwargs.get("completion_ids")
        try:
            if pass_hits and ids is not None:
                hits = [len(x) >= max_completion_length for x in ids]
                values = list(registry_fn(texts, gts, hit_max_tokens=hits))
            else:
                values = list(registry_fn(texts, gts))
            if len(values) != len(texts):
                raise ValueError(f"returned {len(values)} values for {len(texts)} completions")
            return [None if v is None else float(v) for v in values]
        except Exception:  # noqa: BLE001 - a reward must never stop a run; logged, not hidden
            log.exception("reward %r failed on a batch of %d completions; scoring them None", name, len(texts))
            return [None] * len(texts)

    reward.__name__ = name
    reward.__qualname__ = name
    return reward


def registry() -> Mapping[str, Callable]:
    # rewards.REWARD_FUNCS is the public name; reward_funcs is where it lives (imported directly so this works
    # while the package's __init__ re-exports are still being written).
    from rewards.reward_funcs import REWARD_FUNCS

    return REWARD_FUNCS


def build_reward_funcs(weights: Mapping[str, float], gt_column: str = GT_COLUMN,
                       funcs: Mapping[str, Callable] | None = None,
                       max_completion_length: int | None = None) -> tuple[list[Callable], list[float]]:
    """(TRL reward functions, their weights) for the YAML mapping `weights`; zero weights are dropped
    (not computed at all). Unknown names and negative or non-numeric weights are errors naming the key."""
    funcs = registry() if funcs is None else funcs
    if not weights:
        raise RewardConfigError(f"rewards: empty mapping; give at least one of {', '.join(sorted(funcs))}")
    out_funcs: list[Callable] = []
    out_weights: list[float] = []
    for name, weight in weights.items():
        if name not in funcs:
            raise RewardConfigError(f"rewards.{name}: unknown reward; known: {', '.join(sorted(funcs))}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise RewardConfigError(f"rewards.{name}: weight must be a number >= 0, not {weight!r}")
        if weight == 0:
            continue
        out_funcs.append(adapt_reward(name, funcs[name], gt_column, max_completion_length))
        out_weights.append(float(weight))
    if not out_funcs:
        raise RewardConfigError("rewards: every weight is 0; at least one reward must count")
    return out_funcs, out_weights

