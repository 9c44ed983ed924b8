"""Findings from rewards/ turned into what the page shows: a table with line and column, highlighted
spans over the raw output, and the score components.
"""
from __future__ import annotations

from rewards.components import GT_COMPONENTS

FINDING_HEADERS = ["category", "message", "line", "column", "chars", "excerpt"]
SCORE_HEADERS = ["component", "score (1 = good)", "needs ground truth"]


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of character `offset` in `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def findings_rows(text: str, findings) -> list[list]:
    rows = []
    for f in findings:
        line, column = position(text, f.start)
        excerpt = text[f.start:min(f.end, f.start + 80)].replace("\n", "⏎")
        rows.append([f.category, f.message, line, column, f"{f.start}-{f.end}", excerpt])
    return rows


def highlighted(text: str, findings) -> list[tuple[str, str | None]]:
    """`text` cut into (segment, category or None) for gr.HighlightedText. Where findings overlap, the
    narrowest one names the segment (an invalid formula inside a truncated table shows as the formula).
    A zero-width finding (e.g. a missing table, located at the end) marks the character before it."""
    spans = []
    for f in findings:
        start, end = max(0, f.start), min(len(text), f.end)
        if end <= start:
            start, end = max(0, min(start, len(text)) - 1), min(len(text), max(start, 1))
        if end > start:
            spans.append((start, end, f.category))
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out: list[tuple[str, str | None]] = []
    for a, b in zip(cuts, cuts[1:]):
        covering = [(e - s, cat) for s, e, cat in spans if s <= a and b <= e]
        label = min(covering)[1] if covering else None
        if out and out[-1][1] == label:
            out[-1] = (out[-1][0] + text[a:b], label)
        else:
            out.append((text[a:b], label))
    return out


def score_rows(components: dict[str, float | None], total: float) -> list[list]:
    rows = [[name, "n/a" if value is None else round(value, 4), "yes" if name in GT_COMPONENTS else "no"]
            for name, value in components.items()]
    accuracy = components.get("text_accuracy")
    if accuracy is not None:  # the usual OCR figure, shown as such (0 = identical text)
        rows.append(["text NED (1 - text_accuracy; 0 = identical)", round(1.0 - accuracy, 4), "yes"])
    rows.append(["total (weighted)", round(total, 4), ""])
    return rows


def summary_line(findings) -> str:
    if not findings:
        return "No structural hallucination found."
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.category] = counts.get(f.category, 0) + 1
    parts = ", ".join(f"{n} {cat}" for cat, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{len(findings)} finding(s): {parts}."
