"""Observability shared by SFT and GRPO: a JSONL of every logged metric, sample completions, curves as PNG.

`MetricsLogger` is a transformers `TrainerCallback`, so both `Trainer` (SFT) and TRL's `GRPOTrainer` feed
it whatever they log (loss, learning rate, grad norm, each reward component, KL, clip fraction, ...).
TensorBoard comes from transformers itself (`report_to: [tensorboard]`, event files under
`<output_dir>/runs/`); this module adds what TensorBoard lacks for us: a plain-text record that survives
without TensorBoard installed, a PNG of the curves written when training ends (matplotlib, Agg backend, no
display needed), and the sample completions as JSONL (plus TensorBoard text when it is available).

On resume, rows logged after the checkpoint by the killed run are dropped first, so the JSONL reads as one
run that lost only the steps after its last checkpoint.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

from transformers import TrainerCallback

METRICS_FILE = "metrics.jsonl"
SAMPLES_FILE = "samples.jsonl"
CURVES_FILE = "curves.png"


def read_jsonl(path: str | Path) -> list[dict]:
    """Rows of a JSONL file; a last line cut off by a kill is skipped."""
    rows = []
    p = Path(path)
    if not p.is_file():
        return rows
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def _truncate_after(path: Path, step: int) -> None:
    rows = read_jsonl(path)
    kept = [r for r in rows if r.get("step", 0) <= step]
    if len(kept) != len(rows):
        path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")


def plot_curves(rows: list[dict], out_png: str | Path, keys: list[str] | None = None,
                title: str | None = None) -> Path | None:
    """One small panel per numeric metric (or per name in `keys`) against the step; the PNG path, or None."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    skip = {"step", "epoch", "time", "total_flos", "train_runtime"}
    series: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        for key, value in row.items():
            if key in skip or (keys is not None and key not in keys) or isinstance(value, bool):
                continue
            if isinstance(value, (int, float)) and math.isfinite(value):
                series.setdefault(key, []).append((row.get("step", 0), float(value)))
    if keys is None:  # automatic choice: a metric with one point or that never moved (a rate stuck at 1) is noise
        series = {k: v for k, v in series.items() if len(v) >= 2 and len({y for _, y in v}) > 1}
    if not series:
        return None
    n = len(series)
    cols = min(3, n)
    nrows = math.ceil(n / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 2.8 * nrows), squeeze=False)
    for ax, (key, points) in zip(axes.flat, sorted(series.items())):
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="." if len(xs) < 30 else None, linewidth=1.2)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96) if title else None)
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


class MetricsLogger(TrainerCallback):
    """Append every `on_log` dict (with step, epoch, wall time) to `<out_dir>/metrics.jsonl`; plot at the end."""

    def __init__(self, out_dir: str | Path, title: str | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.title = title
        self.metrics_path = self.out_dir / METRICS_FILE
        self.samples_path = self.out_dir / SAMPLES_FILE
        self.curves_path = self.out_dir / CURVES_FILE
        self._t0 = time.time()
        self._tb = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            for path in (self.metrics_path, self.samples_path):
                _truncate_after(path, state.global_step)  # a resumed run redoes the steps after its checkpoint

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, "epoch": state.epoch, "time": round(time.time() - self._t0, 3)}
        for key, value in logs.items():
            row[key] = value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with self.metrics_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")

    def log_samples(self, step: int, samples: list[dict], report_to: list[str] | None = None) -> None:
        """Record sample completions (dicts with at least id and prediction); rank 0 calls this."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with self.samples_path.open("a", encoding="utf-8") as fh:
            for sample in samples:
                fh.write(json.dumps({"step": step, **sample}, ensure_ascii=False) + "\n")
        if report_to and "tensorboard" in report_to:
            writer = self._writer()
            if writer is not None:
                text = "\n\n".join(f"**{s.get('id')}** (score {s.get('total', float('nan')):.3f})\n\n"
                                   f"    {s.get('prediction', '')}" for s in samples)
                writer.add_text("samples", text, step)
                writer.flush()

    def _writer(self):
        if self._tb is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                return None
            self._tb = SummaryWriter(log_dir=str(self.out_dir / "runs" / "samples"))
        return self._tb

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            plot_curves(read_jsonl(self.metrics_path), self.curves_path, title=self.title)
            if self._tb is not None:
                self._tb.close()
                self._tb = None
