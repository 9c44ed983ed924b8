"""`prep synth`: plan the documents, make the missing pages in parallel, assemble the dataset.

The plan is a pure function of (n pages, seed, profile): document i has a page count drawn from its own
seed, and documents are taken in order until the pages add up to n (the last one cut short). The plan is
the list of work items; `--shard I/N` keeps items i with i % N == I; a page whose record exists is skipped.
"""
from __future__ import annotations

import io
import random
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image

from data_prep.augment import augment_png
from data_prep.config import DocumentProfile, Profile, SynthRunConfig, TinyTablesProfile
from data_prep.dataset.writer import OutputDir, atomic_write
from data_prep.dataset.finalize import finish_run
from data_prep.synth.gt_check import GroundTruthChecker
from data_prep.parallel import WorkResult, run_items


@dataclass(frozen=True)
class DocItem:
    doc_index: int
    n_pages: int
    seed: int
    dpi: int
    profile: Profile
    augment: bool
    out: Path
    keep_pdf: bool

    @property
    def doc_id(self) -> str:
        return f"{self.profile.name}-s{self.seed}-d{self.doc_index:07d}"

    def page_id(self, page: int) -> str:
        return f"{self.doc_id}-p{page}"

    @property
    def page_ids(self) -> list[str]:
        return [self.page_id(k) for k in range(self.n_pages)]


def plan(cfg: SynthRunConfig) -> list[DocItem]:
    items, total, i = [], 0, 0
    while total < cfg.n_pages:
        if isinstance(cfg.profile, TinyTablesProfile):
            pages = 1
        else:
            pages = random.Random(f"pages:{cfg.seed}:{i}").choice(cfg.profile.pages_per_doc)
        pages = min(pages, cfg.n_pages - total)
        items.append(DocItem(i, pages, cfg.seed, cfg.render_dpi, cfg.profile, cfg.augment, cfg.out, cfg.keep_pdf))
        total += pages
        i += 1
    return items


@lru_cache(maxsize=4)
def _maker(profile: Profile):  # one per process and profile: it holds the math caches and fonts
    if isinstance(profile, TinyTablesProfile):
        from data_prep.synth.tiny_tables import TinyTablesMaker

        return TinyTablesMaker(profile)
    from data_prep.synth.factory import DocumentMaker

    assert isinstance(profile, DocumentProfile)
    return DocumentMaker(profile)


@lru_cache(maxsize=1)
def _checker() -> GroundTruthChecker:
    return GroundTruthChecker()


def make_item(item: DocItem) -> WorkResult:
    """Make one document and write its missing pages (a worker's job)."""
    out = OutputDir(item.out)
    todo = [k for k in range(item.n_pages) if not out.is_done(item.page_id(k))]
    result = WorkResult(pages_skipped=item.n_pages - len(todo))
    if not todo:
        return result
    doc = _maker(item.profile).make(item.seed, item.doc_index, item.n_pages, item.dpi)
    for k in todo:
        page = doc.pages[k]
        page_id = item.page_id(k)
        _checker().assert_page_ok(page.markdown, where=f"{page_id}")
        if item.augment:
            image = Image.frombytes("RGB", (page.pixmap.width, page.pixmap.height), page.pixmap.samples)
            png, params = augment_png(image, item.seed, page_id)
        else:
            png, params = page.pixmap.tobytes("png"), None
        record = {"id": page_id, "image": out.image_rel(page_id), "markdown": page.markdown,
                  "source": f"synth:{item.doc_id}#p{k}", "page": k, "labelled": True, "label_kind": "exact",
                  "augment": params, "stats": page.stats}
        out.write_page(record, png)
        result.pages_written += 1
    if item.keep_pdf:
        pdf_dir = item.out / "pdf"
        pdf_dir.mkdir(exist_ok=True)
        buf = io.BytesIO()
        doc.pdf.save(buf, garbage=1, deflate=True)
        atomic_write(pdf_dir / f"{item.doc_id}.pdf", buf.getvalue())
    return result


def run_synth(cfg: SynthRunConfig) -> int:
    out = OutputDir(cfg.out)
    out.prepare(cfg.content_key())
    items = plan(cfg)
    mine = [it for i, it in enumerate(items) if cfg.shard.owns(i)]
    pending = [it for it in mine if not all(out.is_done(p) for p in it.page_ids)]
    total = sum(it.n_pages for it in pending)
    if len(pending) < len(mine):
        print(f"resuming: {len(mine) - len(pending)} of {len(mine)} documents already done", file=sys.stderr)
    results = run_items(make_item, pending, workers=cfg.workers, total_pages=total,
                        desc=f"synth {cfg.shard}" if cfg.shard.count > 1 else "synth", progress=cfg.progress)
    errors = [e for r in results for e in r.errors]
    my_pages = [p for it in mine for p in it.page_ids]
    out.write_shard_marker(cfg.shard, my_pages, errors)
    all_pages = [p for it in items for p in it.page_ids]
    finish_run(out, cfg.shard, all_pages, cfg.seed, cfg.val_fraction, cfg.content_key(), errors)
    return 1 if errors else 0
