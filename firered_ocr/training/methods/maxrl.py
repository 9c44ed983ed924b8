"""MaxRL's group advantage (arXiv 2602.02710) and a U-statistic generalisation of it to rewards in [0, 1].

`maxrl_advantages` is the estimator of the authors' code (github tajwarfahim/maxrl,
`verl/trainer/ppo/core_algos.py`): per group ``A_i = (r_i - mean r) / (mean r + 1e-6)``; an all-zero group
gets 0. The paper derives it for binary (pass/fail) rewards only. Our rewards are continuous, so the stage
offers it either on a binary *success event* built from reward components (`MaxRLConfig.success`), which
is the published setting, or on the raw total reward scaled to [0, 1] (our choice) with a floor on the
denominator (`denominator_floor`, our choice) so that a group of near-zero partial credit does not get the
maximal advantage.

`maxrl_ustat_advantages` (`advantage: maxrl_ustat`, not from the authors) is the leave-one-out U-statistic
``A_j = w_j r_j - 1``, ``w_j = sum_{k=0}^{N-1} e_k(1 - r_{-j}) / C(N-1, k)`` with e_k the elementary
symmetric polynomial of the other N-1 samples' failure scores ``1 - r``. On 0/1 rewards it equals the
official estimator (with its 1e-6 taken as 0; the tests check every 0/1 group of N = 2, 4, 8), and for
partial credit near 0 it does not blow up: ``[0.05, 0, 0, 0]`` gives ``[-0.8, -1, -1, -1]`` where the
official formula gives ``[3, -1, -1, -1]``.

Rows whose reward is NaN (every reward function declined to judge the completion) take no part in their
group and get advantage 0, as TRL does for GRPO. Negative rewards are refused: MaxRL estimates the gradient
of log(pass rate), which has no meaning for a negative "rate".
"""
from __future__ import annotations

import dataclasses
import math

import torch

OFFICIAL_EPSILON = 1e-6  # the authors' code adds this to the group mean


class MaxRLRewardError(ValueError):
    """Rewards MaxRL cannot take (negative, or above 1 for the U-statistic)."""


@dataclasses.dataclass
class MaxRLConfig:
    """The `grpo.maxrl:` section (used by `advantage: maxrl` and `advantage: maxrl_ustat`)."""

    # Success event: {component: threshold}; a completion succeeds (reward 1) when every listed component
    # that can judge it is >= its threshold, else 0. Empty = use the total reward (sum of weighted
    # components divided by the sum of the weights, so in [0, 1]).
    success: dict[str, float] = dataclasses.field(default_factory=dict)
    # Raw-total mode only (`success` empty, `advantage: maxrl`): the denominator is max(mean r, floor) + 1e-6.
    # 0 gives the authors' formula unchanged. Our choice; the paper has binary rewards only.
    denominator_floor: float = 0.1


def _check_rewards(rewards: torch.Tensor, upper: float | None = None) -> None:
    valid = rewards[~torch.isnan(rewards)]
    if valid.numel() and valid.min().item() < 0:
        raise MaxRLRewardError(
            f"MaxRL: reward {valid.min().item():g} is negative; MaxRL estimates the gradient of log(success "
            f"rate) and needs rewards >= 0 (use non-negative reward components, or advantage: grpo)")
    if upper is not None and valid.numel() and valid.max().item() > upper + 1e-6:
        raise MaxRLRewardError(
            f"MaxRL U-statistic: reward {valid.max().item():g} is above {upper:g}; advantage: maxrl_ustat "
            f"needs rewards in [0, 1]")


def maxrl_advantages(rewards: torch.Tensor, num_generations: int, epsilon: float = OFFICIAL_EPSILON,
                     floor: float = 0.0) -> torch.Tensor:
    """``(r_i - mean r) / (max(mean r, floor) + epsilon)`` per contiguous group; NaN rows -> 0.

    `rewards` is flat (n_groups * num_generations,). With floor 0 this is the authors' estimator.
    """
    _check_rewards(rewards)
    grouped = rewards.double().view(-1, num_generations)
    valid = ~torch.isnan(grouped)
    mean = torch.where(valid, grouped, 0.0).sum(1, keepdim=True) / valid.sum(1, keepdim=True).clamp(min=1)
    adv = (grouped - mean) / (mean.clamp(min=floor) + epsilon)
    return torch.where(valid, adv, 0.0).view(-1).to(rewards.dtype)


def _leave_one_out_esp(fail: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """e_k of each row's other valid failure scores: (groups, N, N) indexed [group, j, k], k = 0..N-1."""
    groups, n = fail.shape
    esp = torch.zeros(groups, n, n + 1, dtype=fail.dtype)
    esp[:, :, 0] = 1.0
    for i in range(n):
        # Multiply each j's polynomial by (1 + fail_i x), for every j != i where sample i is valid.
        take = (valid[:, i].unsqueeze(1) & (torch.arange(n) != i).unsqueeze(0)).unsqueeze(2)  # (groups, N, 1)
        shifted = torch.cat([torch.zeros_like(esp[:, :, :1]), esp[:, :, :-1]], dim=2)
        updated = esp + fail[:, i].view(groups, 1, 1) * shifted
        esp = torch.where(take, updated, esp)
    return esp[:, :, :n]


def maxrl_ustat_advantages(rewards: torch.Tensor, num_generations: int) -> torch.Tensor:
    """Leave-one-out U-statistic ``A_j = w_j r_j - 1`` per contiguous group (rewards in [0, 1]).

    A group's N is its number of valid (non-NaN) rows; NaN rows and all-zero groups get 0.
    """
    _check_rewards(rewards, upper=1.0)
    grouped = rewards.double().view(-1, num_generations)
    valid = ~torch.isnan(grouped)
    r = torch.where(valid, grouped, 0.0).clamp(0.0, 1.0)
    esp = _leave_one_out_esp(1.0 - r, valid)  # (groups, N, N)
    n_valid = valid.sum(1)  # (groups,)
    out = torch.zeros_like(r)
    for g in range(r.shape[0]):
        n = int(n_valid[g])
        if n < 2 or r[g].sum().item() == 0.0:  # a lone sample or an all-zero group carries no signal
            continue
        inv_binom = torch.tensor([1.0 / math.comb(n - 1, k) for k in range(n)], dtype=r.dtype)
        weights = (esp[g, :, :n] * inv_binom).sum(1)  # w_j
        out[g] = torch.where(valid[g], weights * r[g] - 1.0, 0.0)
    return out.view(-1).to(rewards.dtype)


def success_events(per_func: torch.Tensor, names: list[str], success: dict[str, float]) -> torch.Tensor:
    """1.0 where every listed component that judged the row meets its threshold, 0.0 where one fails,
    NaN where none of them judged it (the row then leaves its group, like an unscorable completion)."""
    unknown = sorted(set(success) - set(names))
    if unknown:
        raise ValueError(f"grpo.maxrl.success: {', '.join(unknown)} not among the configured rewards "
                         f"({', '.join(names)}); add them to grpo.rewards (a weight of 0 drops a reward)")
    cols = torch.stack([per_func[:, names.index(name)] for name in success], dim=1)
    thresholds = torch.tensor([float(t) for t in success.values()], dtype=cols.dtype, device=cols.device)
    judged = ~torch.isnan(cols)
    failed = (judged & (cols < thresholds)).any(dim=1)
    out = torch.where(failed, 0.0, 1.0).to(cols.dtype)
    out[~judged.any(dim=1)] = torch.nan
    return out
