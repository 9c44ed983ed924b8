"""The scorer's human-readable outputs: report.md, report.html and per-component histograms (PNG).

report.md links the PNG files beside it; report.html embeds them (base64), so it can be mailed alone.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

from rewards.scoring import GT_COMPONENTS

_BINS = [i / 20 for i in range(21)]


def write_histograms(out: Path, values: dict[str, list[float]]) -> dict[str, str]:
    """One PNG per component that judged at least one page; returns component -> file name."""
    if not any(values.values()):
        return {}
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must come before pyplot
    import matplotlib.pyplot as plt

    files: dict[str, str] = {}
    # One figure redrawn per component, with fixed margins: tight_layout would draw every figure twice.
    fig, ax = plt.subplots(figsize=(4.2, 2.6), dpi=90)
    fig.subplots_adjust(left=0.14, right=0.97, top=0.88, bottom=0.2)
    for name, vals in values.items():
        if not vals:
            continue
        ax.clear()
        ax.hist(vals, bins=_BINS, color="#3b6ea8", edgecolor="white")
        ax.set_xlim(0, 1)
        ax.set_title(f"{name} (n={len(vals)}, mean={sum(vals) / len(vals):.3f})", fontsize=9)
        ax.set_xlabel("score (1 = good)", fontsize=8)
        ax.set_ylabel("pages", fontsize=8)
        ax.tick_params(labelsize=7)
        files[name] = f"hist_{name}.png"
        fig.savefig(out / files[name])
    plt.close(fig)
    return files


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f} %" if pct else f"{value:.4f}"


def _rate_rows(summary: dict) -> list[tuple[str, str, str, str]]:
    return [
        (cat, _fmt(summary["hallucination_rates"][cat], pct=True), str(summary["findings"][cat]), definition)
        for cat, definition in summary["definitions"].items()
    ]


def _mean_rows(summary: dict) -> list[tuple[str, str, str]]:
    return [(name, _fmt(mean), str(summary["judged"][name])) for name, mean in summary["means"].items()]


def _headline(summary: dict) -> list[str]:
    lines = [
        f"pages scored: {summary['pages']} (with ground truth: {summary['pages_with_gt']})",
        f"mean TEDS: {_fmt(summary['teds'])}; mean TEDS-S: {_fmt(summary['teds_s'])}; "
        f"mean text NED: {_fmt(summary['text_ned'])}",
        f"formula validity: {_fmt(summary['formula_validity'], pct=True)} of {summary['formulas']} formulas; "
        f"tables: {summary['tables']} predicted, {summary['tables_gt']} in ground truth; normalised before TEDS "
        f"as {summary.get('table_normalization', 'pubtabnet')}",
    ]
    if summary["missing_predictions"]:
        lines.append(f"ground-truth pages with no prediction: {len(summary['missing_predictions'])}")
    if summary["unmatched_predictions"]:
        lines.append(f"predictions with no ground truth (scored validity only): {len(summary['unmatched_predictions'])}")
    if summary["errors"]:
        lines.append(f"input errors: {len(summary['errors'])}")
    return lines


def _md_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(esc(c) for c in row) + " |" for row in rows
    ]


def _markdown(summary: dict, worst: list[dict], images: dict[str, str]) -> str:
    out = ["# Structural hallucination report", ""]
    out += [f"- {line}" for line in _headline(summary)] + [""]
    out += ["## Hallucination rates", "",
            "Rate = share of pages with at least one finding of the category (ground-truth categories: of "
            "the pages with ground truth).", ""]
    out += _md_table(("category", "rate", "findings", "definition"), _rate_rows(summary)) + [""]
    out += ["## Components", "", "Mean over the pages each component judged (1 = good).", ""]
    out += _md_table(("component", "mean", "pages judged"), _mean_rows(summary)) + [""]
    out += [f"Components needing ground truth: {', '.join(GT_COMPONENTS)}.", ""]
    out += ["## Worst pages", ""]
    for s in worst:
        out.append(f"### {s['id']} — total {s['total']:.3f}")
        out.append("")
        if not s["findings"]:
            out.append("No findings (low scores against the ground truth only).")
        for f in s["findings"][:30]:
            excerpt = f["excerpt"][:60].replace("`", "'")
            out.append(f"- **{f['category']}** at line {f['line']}, column {f['column']} "
                       f"(chars {f['start']}–{f['end']}): {f['message']} — `{excerpt}`")
        if len(s["findings"]) > 30:
            out.append(f"- … and {len(s['findings']) - 30} more")
        out.append("")
    if summary["missing_predictions"]:
        out += ["## Ground-truth pages with no prediction", ""] + [f"- {i}" for i in summary["missing_predictions"]] + [""]
    if summary["unmatched_predictions"]:
        out += ["## Predictions with no ground truth", ""] + [f"- {i}" for i in summary["unmatched_predictions"]] + [""]
    if summary["errors"]:
        out += ["## Input errors", ""] + [f"- {e}" for e in summary["errors"]] + [""]
    out += ["## Distributions", ""] + [f"![{name}]({file})" for name, file in images.items()] + [""]
    return "\n".join(out)


def _html_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(summary: dict, worst: list[dict], images: dict[str, str], out: Path) -> str:
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Structural hallucination report</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top}"
             "code{background:#f3f3f3}img{margin:4px}</style></head><body>",
             "<h1>Structural hallucination report</h1><ul>"]
    parts += [f"<li>{e(line)}</li>" for line in _headline(summary)] + ["</ul>"]
    parts += ["<h2>Hallucination rates</h2><p>Rate = share of pages with at least one finding of the category "
              "(ground-truth categories: of the pages with ground truth).</p>",
              _html_table(("category", "rate", "findings", "definition"), _rate_rows(summary))]
    parts += ["<h2>Components</h2><p>Mean over the pages each component judged (1 = good).</p>",
              _html_table(("component", "mean", "pages judged"), _mean_rows(summary))]
    parts.append("<h2>Worst pages</h2>")
    for s in worst:
        parts.append(f"<h3>{e(s['id'])} — total {s['total']:.3f}</h3><ul>")
        for f in s["findings"][:30]:
            parts.append(f"<li><b>{e(f['category'])}</b> at line {f['line']}, column {f['column']} "
                         f"(chars {f['start']}–{f['end']}): {e(f['message'])} <code>{e(f['excerpt'][:60])}</code></li>")
        parts.append("</ul>")
    for title, key in (("Ground-truth pages with no prediction", "missing_predictions"),
                       ("Predictions with no ground truth", "unmatched_predictions"), ("Input errors", "errors")):
        if summary[key]:
            parts.append(f"<h2>{title}</h2><ul>" + "".join(f"<li>{e(str(x))}</li>" for x in summary[key]) + "</ul>")
    parts.append("<h2>Distributions</h2>")
    for name, file in images.items():
        data = base64.b64encode((out / file).read_bytes()).decode("ascii")
        parts.append(f"<img alt='{e(name)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out: Path, summary: dict, worst: list[dict], values: dict[str, list[float]]) -> None:
    images = write_histograms(out, values)
    (out / "report.md").write_text(_markdown(summary, worst, images), encoding="utf-8")
    (out / "report.html").write_text(_html(summary, worst, images, out), encoding="utf-8")
