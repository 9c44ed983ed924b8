"""`firered-ocr prep synth|pdfs`: build a training dataset (see docs/data.md).

Top-level imports stay light (argparse only): the dispatcher imports this module to build its parser.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _common(p: argparse.ArgumentParser, dpi_default: int | None, dpi_help: str) -> None:
    p.add_argument("--out", type=Path, required=True, help="output folder (created; resumable)")
    p.add_argument("--dpi", type=int, default=dpi_default, help=dpi_help)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--shard", default="0/1", metavar="I/N",
                   help="make only work items i with i %% N == I; the last shard to finish assembles the dataset")
    p.add_argument("--augment", action="store_true", help="scan-like noise, blur, rotation, JPEG artefacts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-fraction", type=float, default=0.05,
                   help="share of documents held out as validation (by a hash of the document)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="prep_command", metavar="{synth,pdfs}")
    sub.required = True
    synth = sub.add_parser("synth", help="synthetic pages with exact ground truth",
                           description="Render synthetic documents to page images paired with exact Markdown.")
    synth.add_argument("--n", type=int, required=True, help="number of pages")
    _common(synth, None, "render resolution (default: the profile's, 144 for default, 72 for tiny-tables)")
    synth.add_argument("--profile", default="default", choices=("default", "tiny-tables"),
                       help="default: rich multi-block documents; tiny-tables: one small table per small image")
    synth.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                       help="override a profile field, e.g. --set width_pt=256 --set rows=2,3 (repeatable)")
    synth.add_argument("--keep-pdf", action="store_true", help="also write each document's PDF to DIR/pdf/")
    pdfs = sub.add_parser("pdfs", help="pages of your PDFs, silver-labelled from the text layer",
                          description="Render PDF pages to images with silver labels from their text layer.")
    pdfs.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="PDF files or folders (searched recursively)")
    _common(pdfs, 144, "render resolution (default 144)")
    pdfs.add_argument("--accept-repaired", action="store_true",
                      help="process files MuPDF had to repair (e.g. truncated) instead of reporting them as errors")
    pdfs.add_argument("--table-engine", default="union_refine", choices=("union_refine", "lines"),
                      help="union_refine (default): ruled, partly ruled and unruled tables; lines: ruled grids only, "
                           "about 10x faster (see docs/pdf-labels.md)")


def run(args: argparse.Namespace) -> int:
    from data_prep.config import (ConfigError, PdfRunConfig, Shard, SynthRunConfig, apply_overrides,
                                  profile_by_name)
    from data_prep.parallel import default_workers

    try:
        shard = Shard.parse(args.shard)
        if not 0.0 <= args.val_fraction < 1.0:
            raise ConfigError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
        if args.dpi is not None and args.dpi <= 0:
            raise ConfigError(f"--dpi must be positive, got {args.dpi}")
        workers = args.workers or default_workers()
        if args.prep_command == "synth":
            if args.n <= 0:
                raise ConfigError(f"--n must be positive, got {args.n}")
            profile = apply_overrides(profile_by_name(args.profile), args.overrides)
            from data_prep.synth.pipeline import run_synth

            return run_synth(SynthRunConfig(
                n_pages=args.n, out=args.out, profile=profile, seed=args.seed, workers=workers,
                augment=args.augment, dpi=args.dpi, shard=shard, val_fraction=args.val_fraction,
                keep_pdf=args.keep_pdf, progress=not args.no_progress))
        from data_prep.pdfs.pipeline import run_pdfs

        return run_pdfs(PdfRunConfig(
            inputs=tuple(args.inputs), out=args.out, dpi=args.dpi, seed=args.seed, workers=workers,
            augment=args.augment, shard=shard, val_fraction=args.val_fraction,
            accept_repaired=args.accept_repaired, progress=not args.no_progress, table_engine=args.table_engine))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
