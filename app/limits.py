"""What a public demo must refuse or clean up: oversize or unreadable uploads, page and pixel caps,
zip bombs, and temporary files.

Every refusal is an `InputError` whose message names the uploaded file (its own name, never the server's
temp path) and the problem, so the page can show it as it is.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from firered_ocr.page_inputs import IMAGE_SUFFIXES, PDF_SUFFIXES, InputError, check_image, open_pdf

from app.config import AppConfig


@dataclasses.dataclass(frozen=True)
class UploadedDoc:
    path: Path
    name: str  # the name the user uploaded, for messages
    kind: str  # "image" or "pdf"
    n_pages: int  # pages in the file
    offered: int  # pages the app lets the user pick (min(n_pages, max_pages))


def display_name(path: str | Path) -> str:
    return Path(path).name


def _relabel(exc: InputError, path: Path) -> InputError:
    """page_inputs names the full path; the user only knows the file's own name."""
    return InputError(str(exc).replace(str(path), path.name))


def inspect_upload(path: str | Path, cfg: AppConfig) -> UploadedDoc:
    """Check one uploaded page file against the limits; raises InputError with a message for the user."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InputError(f"{name}: the upload did not arrive (no such file)")
    size = path.stat().st_size
    if size > cfg.max_upload_bytes:
        raise InputError(f"{name}: file is {size / 2**20:.1f} MB, over the upload limit of "
                         f"{cfg.max_upload_mb:g} MB")
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        try:
            with open_pdf(path) as doc:
                n = doc.page_count
        except InputError as exc:
            raise _relabel(exc, path) from None
        return UploadedDoc(path, name, "pdf", n, min(n, cfg.max_pages))
    if suffix not in IMAGE_SUFFIXES:
        raise InputError(f"{name}: unsupported file type '{suffix or '(none)'}' (upload an image: "
                         f"{', '.join(sorted(IMAGE_SUFFIXES))}; or a PDF)")
    try:
        check_image(path)
    except InputError as exc:
        raise _relabel(exc, path) from None
    _check_pixels(path, cfg)
    return UploadedDoc(path, name, "image", 1, 1)


def _check_pixels(path: Path, cfg: AppConfig) -> None:
    from PIL import Image

    with Image.open(path) as im:  # reads the header only
        megapixels = im.width * im.height / 1e6
    if megapixels > cfg.max_image_megapixels:
        raise InputError(f"{path.name}: image is {megapixels:.0f} megapixels, over the limit of "
                         f"{cfg.max_image_megapixels:g}")


def load_page_image(doc: UploadedDoc, page: int, cfg: AppConfig):
    """Page `page` (0-based) as an RGB PIL image; PDF pages rendered at `cfg.dpi`, lowered for huge pages
    so that the render stays under the pixel cap."""
    from PIL import Image

    if not 0 <= page < doc.offered:
        raise InputError(f"{doc.name}: page {page + 1} is not available (pages 1-{doc.offered} can be read)")
    if doc.kind == "image":
        with Image.open(doc.path) as im:
            im.seek(0)  # the first frame of a multi-page TIFF
            return im.convert("RGB")
    with open_pdf(doc.path) as pdf:
        rect = pdf[page].rect
        inches = max(rect.width, 1) * max(rect.height, 1) / 72 ** 2
        dpi = min(cfg.dpi, int((cfg.max_image_megapixels * 1e6 / inches) ** 0.5))
        try:
            pix = pdf[page].get_pixmap(dpi=max(dpi, 10), alpha=False)
        except Exception as exc:  # noqa: BLE001 - MuPDF raises several types for broken pages
            raise InputError(f"{doc.name}: page {page + 1} cannot be rendered ({exc})") from None
        return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


class TempArea:
    """The one folder the app writes to at run time: Gradio's upload cache, Python's temp files and one
    folder per request (swept once older than `max_age_s`). `activate()` points Gradio and `tempfile`
    at it; `close()` puts them back and removes the folder if the app created it."""

    def __init__(self, root: str | Path | None, max_age_s: float) -> None:
        self.owned = root is None
        self.root = Path(tempfile.mkdtemp(prefix="firered-ocr-app-")) if root is None else Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.requests = self.root / "requests"
        self.requests.mkdir(exist_ok=True)
        self.gradio_cache = self.root / "gradio"
        self.max_age_s = max_age_s
        self._saved: tuple[str | None, str | None] | None = None

    def activate(self) -> None:
        if self._saved is None:
            self._saved = (os.environ.get("GRADIO_TEMP_DIR"), tempfile.tempdir)
        os.environ["GRADIO_TEMP_DIR"] = str(self.gradio_cache)
        tempfile.tempdir = str(self.root)

    def request_dir(self, prefix: str) -> Path:
        self.sweep()
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.requests))

    def sweep(self, now: float | None = None) -> int:
        """Remove request folders older than max_age_s; returns how many went."""
        now = time.time() if now is None else now
        removed = 0
        for child in self.requests.iterdir():
            try:
                if now - child.stat().st_mtime > self.max_age_s:
                    shutil.rmtree(child, ignore_errors=True)
                    removed += 1
            except FileNotFoundError:  # a concurrent sweep got there first
                continue
        return removed

    def close(self) -> None:
        if self._saved is not None:
            env, tmp = self._saved
            if env is None:
                os.environ.pop("GRADIO_TEMP_DIR", None)
            else:
                os.environ["GRADIO_TEMP_DIR"] = env
            tempfile.tempdir = tmp
            self._saved = None
        if self.owned:
            shutil.rmtree(self.root, ignore_errors=True)
        else:  # an operator's folder: remove only what the app put there
            shutil.rmtree(self.requests, ignore_errors=True)
            shutil.rmtree(self.gradio_cache, ignore_errors=True)


def safe_unzip(zip_path: Path, dest: Path, *, suffixes: tuple[str, ...], max_files: int, max_bytes: int) -> list[Path]:
    """Extract the members of `zip_path` with the given suffixes into `dest`, refusing what a demo must
    not unpack: paths that climb out of `dest`, more than `max_files` files, more than `max_bytes` once
    uncompressed. A single top folder wrapping everything is dropped, so that `preds.zip` holding
    `preds/a.md` gives the id `a`, matching a ground-truth zip holding `gt/a.md`."""
    name = zip_path.name
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{name}: not a readable zip file ({exc})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and m.filename.lower().endswith(suffixes)]
        parts = []
        for m in members:
            p = PurePosixPath(m.filename.replace("\\", "/"))
            if p.is_absolute() or ".." in p.parts:
                raise InputError(f"{name}: member {m.filename!r} points outside the archive; refused")
            parts.append(p.parts)
        if len(members) > max_files:
            raise InputError(f"{name}: {len(members)} files, over the limit of {max_files}")
        total = sum(m.file_size for m in members)
        if total > max_bytes:
            raise InputError(f"{name}: {total / 2**20:.0f} MB once unpacked, over the limit of "
                             f"{max_bytes / 2**20:.0f} MB")
        tops = {p[0] for p in parts if len(p) > 1}
        strip = 1 if len(tops) == 1 and all(len(p) > 1 for p in parts) else 0
        out = []
        budget = max_bytes  # the headers' sizes can lie: count what really comes out
        for m, p in zip(members, parts):
            target = dest.joinpath(*p[strip:])
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(m) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        budget -= len(chunk)
                        if budget < 0:
                            raise InputError(f"{name}: more than {max_bytes / 2**20:.0f} MB once unpacked; refused")
                        dst.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise InputError(f"{name}: member {m.filename!r} cannot be read ({exc})") from None
            out.append(target)
        return out
