"""results.json, results.md and one plot per regime, from the runs' own numbers.

Each arm's row: mean ± 95 % interval over seeds of its final held-out evaluation, and its paired differences
from the control arm (the first `sft` arm, else the first arm) and from the RL baseline (`rl_baseline`, plain
on-policy GRPO by default); "≈" marks a difference within noise. A metric no arm has a value for (text
accuracy on pages without text blocks) is named under the table instead of filling a column with dashes.
"""
from __future__ import annotations

import json
from pathlib import Path

from firered_ocr.bench.stats import estimate, paired_difference, within_noise

# formula count sits beside formula validity: validity is 1 on a page with no formula, so a model that stops
# writing formulas looks valid; the count agreement against the held-out label shows the omission.
METRICS = [("hallucination_rate", "hallucination rate"), ("teds", "TEDS"), ("teds_s", "TEDS-S"),
           ("formula_validity", "formula validity"), ("formula_count", "formula count"),
           ("text_accuracy", "text accuracy")]
COUNTS = [("steps", "steps"), ("rollouts", "rollouts"), ("seconds", "train s")]


def _final(run: dict, key: str):
    return run.get("final", {}).get(key) if "error" not in run else None


def control_arm(runs: dict, config: dict) -> str:
    names = list(runs["arms"])
    return next((n for n in names if n.startswith("sft")), names[0])


def rl_baseline_arm(runs: dict, config: dict) -> str | None:
    """The arm every RL arm is compared with besides the control (None when it did not run)."""
    name = config.get("rl_baseline") or ""
    return name if name in runs["arms"] else None


def regime_rows(runs: dict, labels: dict, control: str, baseline: str | None = None) -> list[dict]:
    rows = []
    ctrl = runs["arms"][control]
    base = runs["arms"][baseline] if baseline else None
    for name, arm_runs in runs["arms"].items():
        errors = [r["error"] for r in arm_runs if "error" in r]
        row = {"arm": name, "label": labels.get(name, name), "errors": errors, "seeds": len(arm_runs)}
        for key, _ in METRICS:
            values = [_final(r, key) for r in arm_runs]
            row[key] = estimate(values)
            row[f"{key}_diff"] = None if name == control else paired_difference(values, [_final(r, key) for r in ctrl])
            row[f"{key}_vs_baseline"] = (None if base is None or name in (control, baseline)
                                         else paired_difference(values, [_final(r, key) for r in base]))
        for key, _ in COUNTS:
            row[key] = estimate([r.get(key) for r in arm_runs if "error" not in r])
        cats = sorted({k for r in arm_runs for k in r.get("final", {}) if k.startswith("rate/")})
        row["categories"] = {k[5:]: estimate([_final(r, k) for r in arm_runs]) for k in cats}
        rows.append(row)
    return rows


def _cell(est, digits=3) -> str:
    return "–" if est is None else est.fmt(digits)


def _diff_cell(diff) -> str:
    if diff is None:
        return ""
    mark = "≈ " if within_noise(diff) else ""
    return f"{mark}{diff.mean:+.3f}" + ("" if diff.half_width is None else f" ± {diff.half_width:.3f}")


def markdown(results: dict) -> str:
    lines = ["# Method comparison (`firered-ocr bench methods`)", ""]
    cfg = results["config"]
    regimes = list(results["regimes"])
    seeds = max((len(r) for runs in results["regimes"].values() for r in runs["arms"].values()), default=0)
    arms = len(results["labels"])
    kind = "Quick run" if results["quick"] else "Run"
    lines.append(f"{kind}: {seeds} seed(s), {len(regimes)} regime(s) ({', '.join(regimes)}), {arms} arms; "
                 f"each arm trained {cfg['arm_seconds']:g} s from the same SFT checkpoint ({cfg['sft_steps']} "
                 f"steps); held-out greedy scores on {cfg['eval_pages']} pages; mean ± 95 % t-interval over "
                 f"seeds; Δ = paired difference (arm − reference, seed by seed), ≈ where its interval includes 0. "
                 f"Total {results['total_seconds']:.0f} s.")
    for regime, runs in results["regimes"].items():
        control, baseline = control_arm(runs, cfg), rl_baseline_arm(runs, cfg)
        rows = regime_rows(runs, results["labels"], control, baseline)
        metrics = [(k, h) for k, h in METRICS if any(row[k] is not None for row in rows)]
        empty = [h for k, h in METRICS if (k, h) not in metrics]
        sft = estimate([s.get("hallucination_rate") for s in runs["sft"]])
        lines += ["", f"## {regime} labels", "", f"SFT checkpoint (start of every arm): hallucination rate "
                  f"{_cell(sft)}; control arm: `{control}`"
                  + (f"; RL baseline: `{baseline}`." if baseline else "."), ""]
        diffs = ["Δ vs control"] + ([f"Δ vs {results['labels'].get(baseline, baseline)}"] if baseline else [])
        head = ["arm"] + [h for _, h in metrics] + diffs + [h for _, h in COUNTS]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in rows:
            if row["errors"] and len(row["errors"]) == row["seeds"]:
                lines.append(f"| {row['label']} | not run: {row['errors'][0][:120]} |" + " |" * (len(head) - 2))
                continue
            cells = [row["label"]] + [_cell(row[k]) for k, _ in metrics] + [_diff_cell(row["hallucination_rate_diff"])]
            if baseline:
                cells.append(_diff_cell(row["hallucination_rate_vs_baseline"]))
            cells += [_cell(row[k], 0) for k, _ in COUNTS]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", "The Δ columns are differences in the hallucination rate (negative: fewer hallucinations)."]
        if empty:
            lines[-1] += f" No arm has a value for: {', '.join(empty)} (left out)."
        cats = sorted({c for row in rows for c in row["categories"]})
        if cats:
            lines += ["", "Per category (share of held-out pages with the finding):", "",
                      "| arm | " + " | ".join(cats) + " |", "|---|" + "---|" * len(cats)]
            for row in rows:
                lines.append(f"| {row['label']} | " + " | ".join(_cell(row["categories"].get(c)) for c in cats) + " |")
        lines += ["", f"![{regime}](curves_{regime}.png)"]
    return "\n".join(lines) + "\n"


def plot_regime(runs: dict, labels: dict, png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    # eleven arms outrun matplotlib's ten default colours: tab20's dark then light halves give twenty
    # distinct ones; the control is drawn black and dashed so the RL arms read against it
    tab20 = plt.get_cmap("tab20").colors
    ax.set_prop_cycle(color=list(tab20[::2]) + list(tab20[1::2]))
    control = control_arm(runs, {})
    sft = estimate([s.get("hallucination_rate") for s in runs["sft"]])
    for name, arm_runs in runs["arms"].items():
        curves = [r["curve"] for r in arm_runs if r.get("curve")]
        if not curves:
            continue
        n = min(len(c) for c in curves)
        xs = [0.0] + [sum(c[i]["seconds"] for c in curves) / len(curves) for i in range(n)]
        ys = [sft.mean if sft else float("nan")] + [
            sum(c[i].get("hallucination_rate", float("nan")) for c in curves) / len(curves) for i in range(n)]
        style = {"color": "black", "linestyle": "--"} if name == control else {}
        ax.plot(xs, ys, marker="o", label=labels.get(name, name), **style)
    ax.set_xlabel("training seconds after SFT")
    ax.set_ylabel("held-out hallucination rate")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def _plain(obj):
    if hasattr(obj, "mean") and hasattr(obj, "half_width"):
        return {"mean": obj.mean, "ci95": obj.half_width, "n": obj.n}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def write_report(results: dict, out: Path) -> None:
    summary = {regime: regime_rows(runs, results["labels"], control_arm(runs, results["config"]),
                                   rl_baseline_arm(runs, results["config"]))
               for regime, runs in results["regimes"].items()}
    (out / "results.json").write_text(json.dumps(_plain({**results, "summary": summary}), indent=1) + "\n",
                                      encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    for regime, runs in results["regimes"].items():
        plot_regime(runs, results["labels"], out / f"curves_{regime}.png",
                    f"Structural hallucination during training, {regime} labels (lower is better)")


def rewrite_report(out: Path, rl_baseline: str | None = None) -> dict:
    """results.md and the plots again from results.json (after a report change; no training, same totals).

    `rl_baseline` replaces the recorded one (results written before the option existed have none)."""
    path = out / "results.json"
    if not path.is_file():
        raise ValueError(f"{path}: no results.json to re-render (run the bench first)")
    results = json.loads(path.read_text(encoding="utf-8"))
    results.pop("summary", None)
    if rl_baseline is not None:
        results["config"]["rl_baseline"] = rl_baseline
    write_report(results, out)
    return results
