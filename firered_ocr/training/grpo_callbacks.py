"""The shared metrics logger with the GRPO curves (the wall-time budget is `sft.TimeBudget`, shared)."""
from __future__ import annotations

from firered_ocr.training.metrics_log import MetricsLogger, plot_curves, read_jsonl


# What the end-of-run curves show (TRL logs ~60 series; plotting all of them costs tens of seconds on 2 cores).
CURVE_KEYS = ("loss", "reward", "reward_std", "kl", "entropy", "nll_gt", "clip_ratio/region_mean",
              "completions/mean_length", "completions/clipped_ratio", "groups/zero_variance_frac",
              "gt/reward_mean", "gt/sampled_reward_mean", "curriculum/max_page_prob", "curator/entropy",
              "curator/u_mean", "curator/loss", "learning_rate")


def curve_keys(rows: list[dict]) -> list[str]:
    """The GRPO series worth a panel: CURVE_KEYS and each reward component's mean, where logged."""
    present = {k for r in rows for k in r}
    return [k for k in CURVE_KEYS if k in present] + sorted(
        k for k in present if k.startswith("rewards/") and k.endswith("/mean"))


class GRPOMetricsLogger(MetricsLogger):
    """The shared metrics callback, with the end-of-run PNG restricted to `curve_keys` (or none: plot=False)."""

    def __init__(self, out_dir, title: str | None = None, plot: bool = True):
        super().__init__(out_dir, title)
        self.plot = plot

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self.plot:
            rows = read_jsonl(self.metrics_path)
            plot_curves(rows, self.curves_path, keys=curve_keys(rows), title=self.title)
            if self._tb is not None:
                self._tb.close()
                self._tb = None
