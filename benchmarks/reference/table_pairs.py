"""Generated table pairs for TEDS tests and benchmarks (shared by benchmarks/bench_teds.py and the TEDS tests).

``grid_table`` makes a realistic table (header row, numbers and words, some merged cells, inline tags);
``edit_table`` applies the edits an OCR model makes: changed cells, a dropped row, merged cells.
``random_markup_table`` makes odd, deep markup (sections, divs, th, nested inline tags) that exercises
every tree shape the TEDS tree can take.
"""
from __future__ import annotations

import copy
import random
from html import escape

Cell = dict  # {"text": str, "colspan": int, "rowspan": int, "tag": "td" | "th"}

_WORDS = "total mean age group control treated baseline week dose ratio p value n sex male female".split()


def _text(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:
        return f"{rng.uniform(0, 1000):.{rng.randint(0, 3)}f}"
    if r < 0.85:
        return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))
    if r < 0.95:
        return f"{rng.randint(1, 99)} ± {rng.randint(1, 9)}"
    return ""


def grid_table(rows: int, cols: int, rng: random.Random, *, merges: int = 2) -> list[list[Cell]]:
    table = [[{"text": _text(rng), "colspan": 1, "rowspan": 1, "tag": "td"} for _ in range(cols)]
             for _ in range(rows)]
    for c in table[0]:
        c["text"] = rng.choice(_WORDS).title()
    for _ in range(merges):
        _merge(table, rng)
    return table


def _merge(table: list[list[Cell]], rng: random.Random) -> None:
    """Merge a cell with its right neighbour (colspan) in one row."""
    r = rng.randrange(len(table))
    if len(table[r]) >= 2:
        c = rng.randrange(len(table[r]) - 1)
        table[r][c]["colspan"] += table[r][c + 1]["colspan"]
        del table[r][c + 1]


def edit_table(table: list[list[Cell]], rng: random.Random, *, changed: int = 5, drop_row: bool = True,
               merges: int = 1) -> list[list[Cell]]:
    out = copy.deepcopy(table)
    cells = [c for row in out for c in row]
    for c in rng.sample(cells, min(changed, len(cells))):
        t = c["text"]
        c["text"] = t[:-1] + "x" if t and rng.random() < 0.6 else _text(rng)
    if drop_row and len(out) > 2:
        del out[rng.randrange(1, len(out))]
    for _ in range(merges):
        _merge(out, rng)
    return out


def to_html(table: list[list[Cell]], *, thead: bool = True, wrap: bool = True) -> str:
    def cell(c: Cell) -> str:
        attrs = "".join(f' {k}="{c[k]}"' for k in ("colspan", "rowspan") if c[k] != 1)
        text = escape(c["text"], quote=False)
        if text and c is table[0][0]:
            text = f"<b>{text}</b>"
        return f"<{c['tag']}{attrs}>{text}</{c['tag']}>"

    rows = ["<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in table]
    body = (f"<thead>{rows[0]}</thead><tbody>{''.join(rows[1:])}</tbody>" if thead and rows
            else "".join(rows))
    doc = f"<table>{body}</table>"
    return f"<html><body>{doc}</body></html>" if wrap else doc


def random_markup_table(rng: random.Random, *, max_depth: int = 4, max_children: int = 4,
                        with_th: bool = True) -> str:
    """A wrapped table whose content is a random tree of sections, rows, cells and inline markup."""
    inner = ["tr", "tbody", "thead", "div", "span"] + (["th"] if with_th else [])

    def node(depth: int) -> str:
        if depth >= max_depth or rng.random() < 0.35:
            return _cell(rng)
        tag = rng.choice(inner)
        kids = "".join(node(depth + 1) for _ in range(rng.randint(0, max_children)))
        return f"<{tag}>{kids}</{tag}>"

    kids = "".join(node(1) for _ in range(rng.randint(1, max_children)))
    return f"<html><body><table>{kids}</table></body></html>"


def _cell(rng: random.Random) -> str:
    attrs = ""
    if rng.random() < 0.3:
        attrs += f' colspan="{rng.randint(1, 3)}"'
    if rng.random() < 0.2:
        attrs += f' rowspan="{rng.randint(1, 2)}"'
    text = rng.choice(["", "a", "ab", "abc", "12", "1.5", "x y"])
    if rng.random() < 0.3:
        text = f"{text}<{rng.choice(['b', 'i', 'sup'])}>{rng.choice(['', 'z', 'yz'])}</b>"
    return f"<td{attrs}>{text}</td>"
