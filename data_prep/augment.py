"""Scan-like augmentation of a page image: small rotation, blur, sensor noise, JPEG artefacts.

Each page draws its own parameters from a generator seeded by (run seed, page id), so the result is the
same in any worker, shard or run; the parameters are returned for the record's `augment` field, always
with the same keys and types (0 / None = that effect was not applied) so that `datasets` infers one schema.
"""
from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image, ImageFilter


def page_rng(seed: int, page_id: str) -> np.random.Generator:
    digest = hashlib.sha256(f"augment:{seed}:{page_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def draw_params(rng: np.random.Generator) -> dict:
    """Each effect applies with its own probability; strengths stay mild enough to keep text legible."""
    return {
        "rotate_deg": round(float(rng.uniform(-1.5, 1.5)), 3) if rng.random() < 0.7 else 0.0,
        "blur_radius": round(float(rng.uniform(0.3, 1.1)), 3) if rng.random() < 0.5 else 0.0,
        "noise_sigma": round(float(rng.uniform(2.0, 12.0)), 3) if rng.random() < 0.6 else 0.0,
        "jpeg_quality": int(rng.integers(35, 91)) if rng.random() < 0.5 else None,
    }


def augment_image(image: Image.Image, params: dict, rng: np.random.Generator) -> Image.Image:
    img = image.convert("RGB")
    if params["rotate_deg"]:
        img = img.rotate(params["rotate_deg"], resample=Image.BICUBIC, expand=False, fillcolor=(255, 255, 255))
    if params["blur_radius"]:
        img = img.filter(ImageFilter.GaussianBlur(params["blur_radius"]))
    if params["noise_sigma"]:
        arr = np.asarray(img, dtype=np.float32)
        arr = arr + rng.normal(0.0, params["noise_sigma"], size=arr.shape[:2])[..., None]  # grey noise
        img = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
    if params["jpeg_quality"] is not None:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=params["jpeg_quality"])
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    return img


def augment_png(image: Image.Image, seed: int, page_id: str) -> tuple[bytes, dict]:
    """The augmented page as PNG bytes, and the parameters used."""
    rng = page_rng(seed, page_id)
    params = draw_params(rng)
    out = augment_image(image, params, rng)
    buf = io.BytesIO()
    # Noise does not compress: zlib level 1 writes a noisy 144-dpi page ~3.5x faster than level 6 for ~10 %
    # more bytes (measured here: 0.40 s against 1.45 s).
    out.save(buf, "PNG", compress_level=1)
    return buf.getvalue(), params
