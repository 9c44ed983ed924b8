"""Turn the user's INPUT arguments (image files, PDFs, folders of them) into pages to read.

Each page gets a stable id (used for its output file name and for resuming), and is rendered only when
its batch is about to run, so a 500-page PDF never sits in memory as 500 images. A file that cannot be
read (corrupt, encrypted, empty, not an image) becomes an `InputError` naming it; the other files go on.
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"}
PDF_SUFFIXES = {".pdf"}


class InputError(ValueError):
    """One input file that cannot be used; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class PageRef:
    source: Path  # the input file
    page: int  # 0-based page index (0 for images)
    n_pages: int  # pages in the source file
    key: str  # stable, filesystem-safe name of the source (stem, disambiguated if needed)

    @property
    def id(self) -> str:
        return self.key if self.source.suffix.lower() not in PDF_SUFFIXES else f"{self.key}/page-{self.page + 1:04d}"

    @property
    def output_name(self) -> str:
        return f"{self.id}.md"


def parse_page_ranges(spec: str | None) -> set[int] | None:
    """'1-3,7' -> {0, 1, 2, 6} (0-based); None or '' -> None (all pages)."""
    if not spec:
        return None
    pages: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
            else:
                lo = hi = int(part)
        except ValueError:
            raise ValueError(f"--pages: {part!r} is not a page number or range like 1-3") from None
        if lo < 1 or hi < lo:
            raise ValueError(f"--pages: {part!r} is not a valid range (pages count from 1)")
        pages.update(range(lo - 1, hi))
    return pages


def expand_inputs(inputs: Iterable[str | Path]) -> tuple[list[Path], list[InputError]]:
    """Files named directly, plus the images and PDFs found (recursively, sorted) in folders."""
    files: list[Path] = []
    errors: list[InputError] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*")
                           if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | PDF_SUFFIXES)
            if not found:
                errors.append(InputError(f"{path}: folder holds no images or PDFs"))
            files.extend(found)
        elif path.is_file():
            if path.suffix.lower() not in IMAGE_SUFFIXES | PDF_SUFFIXES:
                errors.append(InputError(f"{path}: unsupported file type '{path.suffix}' "
                                         f"(images: {', '.join(sorted(IMAGE_SUFFIXES))}; or .pdf)"))
            else:
                files.append(path)
        else:
            errors.append(InputError(f"{path}: no such file or folder"))
    return files, errors


def _keys(files: list[Path]) -> dict[Path, str]:
    """Stems as keys; stems shared by several files get a short hash of their path appended."""
    by_stem: dict[str, list[Path]] = {}
    for f in files:
        by_stem.setdefault(f.stem, []).append(f)
    keys = {}
    for stem, group in by_stem.items():
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem) or "page"
        for f in group:
            if len(group) == 1:
                keys[f] = safe
            else:
                keys[f] = f"{safe}-{hashlib.sha1(str(f.resolve()).encode()).hexdigest()[:8]}"
    return keys


def open_pdf(path: Path):
    """Open a PDF with PyMuPDF, turning its failure modes into one InputError each."""
    import pymupdf

    try:
        doc = pymupdf.open(path)
    except Exception as exc:  # PyMuPDF raises several types for damaged files
        raise InputError(f"{path}: not a readable PDF ({exc})") from None
    if not doc.is_pdf:
        raise InputError(f"{path}: not a PDF")
    if doc.needs_pass:
        raise InputError(f"{path}: PDF is encrypted (password required)")
    if doc.page_count == 0:
        raise InputError(f"{path}: PDF has no pages")
    return doc


def check_image(path: Path) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from None


def list_pages(files: list[Path], pages: set[int] | None) -> tuple[list[PageRef], list[InputError]]:
    """Every selected page of every file; unreadable files become errors."""
    refs: list[PageRef] = []
    errors: list[InputError] = []
    for f, key in _keys(files).items():
        try:
            if f.suffix.lower() in PDF_SUFFIXES:
                with open_pdf(f) as doc:
                    n = doc.page_count
                wanted = sorted(p for p in (pages if pages is not None else range(n)) if p < n)
                if not wanted:
                    raise InputError(f"{f}: none of the requested pages exist (it has {n})")
                refs.extend(PageRef(f, p, n, key) for p in wanted)
            else:
                check_image(f)
                refs.append(PageRef(f, 0, 1, key))
        except InputError as exc:
            errors.append(exc)
    return refs, errors


def load_page(ref: PageRef, dpi: int):
    """The page as an RGB PIL image (PDF pages rendered with PyMuPDF at `dpi`)."""
    from PIL import Image

    if ref.source.suffix.lower() in PDF_SUFFIXES:
        with open_pdf(ref.source) as doc:
            try:
                pix = doc[ref.page].get_pixmap(dpi=dpi, alpha=False)
            except Exception as exc:
                raise InputError(f"{ref.source}: page {ref.page + 1} cannot be rendered ({exc})") from None
            return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    try:
        with Image.open(ref.source) as im:
            im.seek(0)  # first frame of a multi-page TIFF
            return im.convert("RGB")
    except (OSError, ValueError) as exc:
        raise InputError(f"{ref.source}: not a readable image ({exc})") from None
