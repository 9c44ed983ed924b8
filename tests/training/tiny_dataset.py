"""A tiny prepared dataset written straight in the data contract, for training tests.

Each page is a small image with a short digit string drawn large (a character wider than a patch, so the
tiny model can learn it in a few hundred steps), and its ground truth is that string as a one-cell table.
Written directly rather than through data_prep so the training tests do not depend on the renderer.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


def _font(size: int):
    for name in ("DejaVuSansMono.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def write_tiny_dataset(root: Path, n_train: int = 16, n_val: int = 4, seed: int = 0,
                       unlabelled: int = 0) -> Path:
    """Write DIR/{train,validation}.jsonl and DIR/images/*.png; `unlabelled` extra train pages have no GT."""
    rng = random.Random(seed)
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    font = _font(26)
    for split, n in (("train", n_train + unlabelled), ("validation", n_val)):
        lines = []
        for i in range(n):
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 3)))
            page_id = f"{split}-{i:04d}"
            image = Image.new("RGB", (96, 64), "white")
            ImageDraw.Draw(image).text((8, 16), digits, fill="black", font=font)
            image.save(root / "images" / f"{page_id}.png")
            labelled = not (split == "train" and i >= n_train)
            markdown = f"<table><tr><td>{digits}</td></tr></table>" if labelled else None
            lines.append(json.dumps({
                "id": page_id, "image": f"images/{page_id}.png", "markdown": markdown,
                "source": f"test:{page_id}", "page": 0, "labelled": labelled,
                "label_kind": "exact" if labelled else None, "augment": None,
                "stats": {"tables": 1, "merged_cells": 0, "formulas": 0, "chars": len(markdown or "")}}))
        (root / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    return root
