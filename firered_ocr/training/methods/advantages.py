"""`grpo.advantage`: which group advantage the trainer hands to TRL's loss.

TRL 1.16 has no advantage hook: `GRPOTrainer._generate_and_score_completions` computes GRPO's
``(r - mean) / std`` itself. The project's trainer keeps the reward matrix TRL gathered over processes
(one row per completion of the whole generation batch, groups being contiguous blocks of
`num_generations`, one column per reward function) and, for any advantage other than `grpo`, replaces
each process's slice of the advantages with `GroupAdvantage.compute`'s on that matrix. Every process
computes the same numbers from the same gathered matrix, so groups that straddle processes are whole.
"""
from __future__ import annotations

import dataclasses

import torch

from firered_ocr.training.methods.maxrl import MaxRLConfig, maxrl_advantages, maxrl_ustat_advantages, success_events
from firered_ocr.training.methods.prosper import ProsperConfig, prosper_advantages

ADVANTAGES = ("grpo", "maxrl", "maxrl_ustat", "prosper")


class AdvantageConfigError(ValueError):
    """A `grpo.advantage` setting that cannot run; the message names the key."""


def total_reward(per_func: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted sum of the components over the sum of the weights (NaN components count 0, as TRL sums
    them); NaN where no component judged the row. In [0, 1] when every component is."""
    w = weights.to(per_func.device, per_func.dtype)
    total = (per_func * w.unsqueeze(0)).nansum(dim=1) / w.sum()
    total[torch.isnan(per_func).all(dim=1)] = torch.nan
    return total


@dataclasses.dataclass
class GroupAdvantage:
    """One configured advantage estimator over the gathered reward matrix."""

    kind: str
    names: list[str]  # reward-function names, in column order
    weights: list[float]
    num_generations: int
    maxrl: MaxRLConfig = dataclasses.field(default_factory=MaxRLConfig)
    prosper: ProsperConfig = dataclasses.field(default_factory=ProsperConfig)

    def __post_init__(self) -> None:
        check_advantage_config(self.kind, self.maxrl, self.prosper, self.names)

    def compute(self, per_func: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """(advantage of every row, metrics of this step) for the gathered matrix (rows, reward functions)."""
        per_func = per_func.detach().double().cpu()
        g = self.num_generations
        if self.kind == "prosper":
            return prosper_advantages(per_func, self.names, g, self.prosper)
        if self.maxrl.success:
            rewards = success_events(per_func, self.names, self.maxrl.success)
            floor = 0.0  # the published, binary setting: the authors' formula unchanged
        else:
            rewards = total_reward(per_func, torch.tensor(self.weights, dtype=torch.float64))
            floor = self.maxrl.denominator_floor
        if self.kind == "maxrl":
            adv = maxrl_advantages(rewards, g, floor=floor)
        elif self.kind == "maxrl_ustat":
            adv = maxrl_ustat_advantages(rewards, g)
        else:
            raise AdvantageConfigError(f"grpo.advantage: {self.kind!r} has no estimator here")
        grouped = rewards.view(-1, g)
        valid = ~torch.isnan(grouped)
        means = torch.where(valid, grouped, 0.0).sum(1) / valid.sum(1).clamp(min=1)
        metrics = {"maxrl/reward_mean": means.mean().item(),
                   "maxrl/all_zero_group_frac": (means == 0).double().mean().item(),
                   "maxrl/advantage_max": adv.max().item()}
        if self.maxrl.success:
            metrics["maxrl/success_rate"] = torch.nanmean(rewards).item()
        return adv, metrics


def check_advantage_config(kind: str, maxrl: MaxRLConfig, prosper: ProsperConfig, names: list[str]) -> None:
    if kind not in ADVANTAGES:
        raise AdvantageConfigError(f"grpo.advantage: one of {', '.join(ADVANTAGES)}, not {kind!r}")
    if kind in ("maxrl", "maxrl_ustat"):
        unknown = sorted(set(maxrl.success) - set(names))
        if unknown:
            raise AdvantageConfigError(
                f"grpo.maxrl.success: {', '.join(unknown)} not among the configured rewards ({', '.join(names)})")
        if not maxrl.denominator_floor >= 0:
            raise AdvantageConfigError(f"grpo.maxrl.denominator_floor: must be >= 0, not {maxrl.denominator_floor}")
    if kind == "prosper":
        prosper.validate()
        prosper.links(names)
