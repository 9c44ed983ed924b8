"""DIR/contact_sheet.png: a few pages side by side with their ground truth rendered back to a page.

The ground truth goes through a small Markdown → HTML conversion (headings, lists, paragraphs, the HTML
tables as they are, formulas shown as their LaTeX source) and PyMuPDF's HTML layout, so a wrong label is
visible at a glance: the right-hand page should read like the left-hand one.
"""
from __future__ import annotations

import html as html_lib
import io
import json
import re
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw

from data_prep.dataset.writer import atomic_write

PAIR_HEIGHT = 640  # pixels per page in the sheet
_CSS = """
body {font-family: sans-serif; font-size: 10pt; line-height: 1.3; margin: 0}
h1, h2, h3, h4, p, ul, ol, table {margin: 0 0 6pt 0}
h1 {font-size: 16pt} h2 {font-size: 13pt} h3, h4 {font-size: 11pt}
table {border-collapse: collapse; font-size: 8pt}
td {border: 0.5pt solid #444; padding: 1pt 3pt}
.math {font-family: monospace; color: #1a4f8b; font-size: 8pt}
p.math {text-align: center}
.unlabelled {color: #a00; font-size: 14pt}
"""
_INLINE_MATH = re.compile(r"\$([^$\n]+)\$")
_ITEM = re.compile(r"^(?:- |\d+\. )")


def markdown_to_html(markdown: str) -> str:
    """Just enough Markdown for the output convention (the preview, not a general converter)."""
    out = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        block = block.strip()
        if not block:
            continue
        if block.startswith("<table"):
            out.append(block)  # convention tables carry only table/tr/td and span attributes
        elif block.startswith("$$"):
            out.append(f'<p class="math">{html_lib.escape(block)}</p>')
        elif block.startswith("#"):
            level = min(4, len(block) - len(block.lstrip("#")))
            out.append(f"<h{level}>{_inline(block.lstrip('#').strip())}</h{level}>")
        elif all(_ITEM.match(line) for line in block.splitlines()):
            tag = "ul" if block.startswith("- ") else "ol"
            items = "".join(f"<li>{_inline(_ITEM.sub('', line))}</li>" for line in block.splitlines())
            out.append(f"<{tag}>{items}</{tag}>")
        else:
            out.append(f"<p>{_inline(block)}</p>")
    return "\n".join(out)


def _inline(text: str) -> str:
    return _INLINE_MATH.sub(lambda m: f'<span class="math">${m.group(1)}$</span>', html_lib.escape(text, quote=False))


def render_markdown(markdown: str | None, width_pt: float, height_pt: float, height_px: int) -> Image.Image:
    """The ground truth laid out on a page of the given size (scaled down to fit), as an image."""
    doc = pymupdf.open()
    page = doc.new_page(width=width_pt, height=height_pt)
    margin = min(width_pt, height_pt) * 0.06
    body = markdown_to_html(markdown) if markdown is not None else '<p class="unlabelled">unlabelled: no text layer</p>'
    page.insert_htmlbox(page.rect + (margin, margin, -margin, -margin), body, css=_CSS, scale_low=0)
    pix = page.get_pixmap(matrix=pymupdf.Matrix(height_px / height_pt, height_px / height_pt), alpha=False)
    return Image.open(io.BytesIO(pix.tobytes("png"))).convert("RGB")


def pick(records: list[dict], k: int = 4) -> list[dict]:
    """The page with most merged cells, the one with most formulas, then pages spread over the set."""
    pool = [r for r in records if r["labelled"]] or records
    chosen: list[dict] = []
    for key in ("merged_cells", "formulas"):
        best = max(pool, key=lambda r: (r["stats"][key], r["id"]), default=None)
        if best is not None and best["stats"][key] > 0 and best not in chosen:
            chosen.append(best)
    step = max(1, len(pool) // k)
    for r in pool[::step]:
        if len(chosen) >= k:
            break
        if r not in chosen:
            chosen.append(r)
    return chosen[:k]


def write_contact_sheet(root: Path, k: int = 4) -> Path | None:
    root = Path(root)
    records = []
    for name in ("train.jsonl", "validation.jsonl"):
        path = root / name
        if path.exists():
            records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not records:
        return None
    tiles = []
    for r in pick(records, k):
        page = Image.open(root / r["image"]).convert("RGB")
        scale = PAIR_HEIGHT / page.height
        left = page.resize((max(1, round(page.width * scale)), PAIR_HEIGHT), Image.LANCZOS)
        aspect_pt = (612.0, 612.0 * page.height / page.width)  # any size works: only the aspect matters
        right = render_markdown(r["markdown"], aspect_pt[0], aspect_pt[1], PAIR_HEIGHT)
        tile = Image.new("RGB", (left.width + right.width + 30, PAIR_HEIGHT + 28), "white")
        tile.paste(left, (0, 28))
        tile.paste(right, (left.width + 30, 28))
        draw = ImageDraw.Draw(tile)
        draw.text((4, 6), f"{r['id']}  (image | ground truth)", fill=(0, 0, 0))
        draw.rectangle((left.width + 30, 28, tile.width - 1, tile.height - 1), outline=(150, 150, 150))
        tiles.append(tile)
    cols = 2 if len(tiles) > 1 else 1
    rows = (len(tiles) + cols - 1) // cols
    cell_w = max(t.width for t in tiles) + 20
    cell_h = max(t.height for t in tiles) + 20
    sheet = Image.new("RGB", (cols * cell_w, rows * cell_h), (235, 235, 235))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % cols) * cell_w + 10, (i // cols) * cell_h + 10))
    buf = io.BytesIO()
    sheet.save(buf, "PNG", compress_level=1)  # a preview: speed over size
    out = root / "contact_sheet.png"
    atomic_write(out, buf.getvalue())
    return out
