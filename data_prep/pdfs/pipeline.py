"""`prep pdfs`: a user's PDFs → page images with silver labels, or unlabelled where there is no text layer.

Inputs are files or folders (searched recursively for *.pdf), de-duplicated and sorted; `--shard I/N` keeps
the files with index i % N == I. Each file is opened once up front: an encrypted, corrupt (including
truncated: MuPDF had to repair it) or empty file gives one `error: <file>: <reason>` line on stderr and the
run goes on; the exit status is 1 if any file or page failed. Page ids are `<name>-<content hash>-p<page>`,
so they are the same on any machine and a file given twice is made once.
"""
from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pymupdf
from PIL import Image

from data_prep.augment import augment_png
from data_prep.config import PdfRunConfig
from data_prep.dataset.writer import OutputDir
from data_prep.dataset.finalize import finish_run
from data_prep.parallel import WorkResult, run_items
from data_prep.pdfs.silver_labels import silver_page

CHUNK_PAGES = 8  # pages of one file per work item: big files spread over the workers


@dataclass(frozen=True)
class PageChunk:
    path: Path
    base_id: str
    pages: tuple[int, ...]
    dpi: int
    augment: bool
    seed: int
    out: Path
    table_engine: str = "union_refine"

    def page_id(self, page: int) -> str:
        return f"{self.base_id}-p{page:05d}"


def discover(inputs: tuple[Path, ...]) -> tuple[list[Path], list[str]]:
    files: dict[Path, Path] = {}
    errors = []
    for given in inputs:
        if given.is_dir():
            found = sorted(p for p in given.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
            if not found:
                errors.append(f"error: {given}: no PDF files in this folder")
            for p in found:
                files.setdefault(p.resolve(), p)
        elif given.is_file():
            files.setdefault(given.resolve(), given)
        else:
            errors.append(f"error: {given}: no such file or folder")
    return sorted(files.values(), key=lambda p: str(p)), errors


def inspect(path: Path, accept_repaired: bool) -> tuple[str | None, int, str | None]:
    """(base id, page count, None) for a usable file, else (None, 0, the reason)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, 0, f"cannot read: {exc.strerror or exc}"
    if not data:
        return None, 0, "empty file (0 bytes)"
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises FileDataError and friends
        return None, 0, f"corrupt or not a PDF ({_one_line(exc)})"
    with doc:
        if doc.needs_pass:
            return None, 0, "encrypted: a password is needed to open it"
        if doc.page_count == 0:
            return None, 0, "no pages"
        if doc.is_repaired and not accept_repaired:
            return None, 0, "damaged (truncated or corrupt): MuPDF had to repair it; --accept-repaired processes it anyway"
        count = doc.page_count
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem)[:60].strip("._") or "file"
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:10]}", count, None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def process_chunk(chunk: PageChunk) -> WorkResult:
    """Render and label the chunk's pages that have no record yet (a worker's job)."""
    out = OutputDir(chunk.out)
    todo = [p for p in chunk.pages if not out.is_done(chunk.page_id(p))]
    result = WorkResult(pages_skipped=len(chunk.pages) - len(todo))
    if not todo:
        return result
    with pymupdf.open(chunk.path, filetype="pdf") as doc:
        for number in todo:
            page_id = chunk.page_id(number)
            try:
                page = doc[number]
                label = silver_page(page, table_engine=chunk.table_engine)
                pix = page.get_pixmap(dpi=chunk.dpi, alpha=False)
            except Exception as exc:  # a broken page must not stop the file's other pages
                result.errors.append(f"error: {chunk.path}: page {number}: {_one_line(exc)}")
                continue
            if chunk.augment:
                png, params = augment_png(Image.frombytes("RGB", (pix.width, pix.height), pix.samples),
                                          chunk.seed, page_id)
            else:
                png, params = pix.tobytes("png"), None
            md = label.markdown
            record = {"id": page_id, "image": out.image_rel(page_id), "markdown": md,
                      "source": f"pdf:{chunk.path.name}#p{number}", "page": number, "labelled": md is not None,
                      "label_kind": label.label_kind, "augment": params,
                      "stats": {"tables": label.tables, "merged_cells": label.merged_cells,
                                "formulas": label.formulas, "chars": len(md or ""), "left_out": label.left_out}}
            out.write_page(record, png)
            result.pages_written += 1
    return result


def run_pdfs(cfg: PdfRunConfig) -> int:
    # MuPDF would print its own warnings about broken files; we report each file once, ourselves.
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    out = OutputDir(cfg.out)
    out.prepare(cfg.content_key())
    files, errors = discover(cfg.inputs)
    chunks: list[PageChunk] = []
    for i, path in enumerate(files):
        if not cfg.shard.owns(i):
            continue
        base_id, count, problem = inspect(path, cfg.accept_repaired)
        if problem is not None:
            errors.append(f"error: {path}: {problem}")
            continue
        for start in range(0, count, CHUNK_PAGES):
            pages = tuple(range(start, min(count, start + CHUNK_PAGES)))
            chunks.append(PageChunk(path, base_id, pages, cfg.dpi, cfg.augment, cfg.seed, cfg.out, cfg.table_engine))
    for line in errors:
        print(line, file=sys.stderr)
    pending = [c for c in chunks if not all(out.is_done(c.page_id(p)) for p in c.pages)]
    results = run_items(process_chunk, pending, workers=cfg.workers, total_pages=sum(len(c.pages) for c in pending),
                        desc=f"pdfs {cfg.shard}" if cfg.shard.count > 1 else "pdfs", progress=cfg.progress)
    errors += [e for r in results for e in r.errors]
    my_pages = [c.page_id(p) for c in chunks for p in c.pages]
    unlabelled = [p for p in my_pages if out.is_done(p) and out.read_record(p)["markdown"] is None]
    if unlabelled:
        print(f"note: {len(unlabelled)} page(s) have no text layer (scanned?): kept unlabelled "
              f"(markdown null), e.g. {unlabelled[0]}", file=sys.stderr)
    out.write_shard_marker(cfg.shard, my_pages, errors)
    finish_run(out, cfg.shard, None, cfg.seed, cfg.val_fraction, cfg.content_key(), errors)
    return 1 if errors else 0
