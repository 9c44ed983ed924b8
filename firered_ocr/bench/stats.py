"""Mean and 95 % interval over seeds, and paired differences against the control.

Seeds are paired: every arm of one seed starts from the same SFT checkpoint and sees the same data order,
so an arm's effect is measured by its per-seed difference from the control, whose interval is narrower
than the two arms' own intervals would suggest. Intervals are Student-t (few seeds); with one seed there is
no interval, and nothing can be called outside noise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as _scipy_stats


@dataclass(frozen=True)
class Estimate:
    mean: float
    half_width: float | None  # 95 % interval = mean ± half_width; None with one value
    n: int

    def fmt(self, digits: int = 3) -> str:
        if self.half_width is None:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.half_width:.{digits}f}"


def estimate(values: list[float]) -> Estimate | None:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return None
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return Estimate(mean, None, n)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return Estimate(mean, float(_scipy_stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n), n)


def paired_difference(arm: list[float | None], control: list[float | None]) -> Estimate | None:
    """arm − control, seed by seed (seeds where either is missing are left out)."""
    return estimate([a - c for a, c in zip(arm, control) if a is not None and c is not None])


def within_noise(diff: Estimate | None) -> bool:
    """True unless the 95 % interval of the paired difference excludes 0."""
    return diff is None or diff.half_width is None or abs(diff.mean) <= diff.half_width
