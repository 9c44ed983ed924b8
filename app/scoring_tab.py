"""The "Score a corpus" tab: upload predictions and (optionally) ground truth, get the scorer's report in
the page and as downloads.

Each side accepts one JSONL file, or any number of `.md` files and zips of folders of `.md` files (ids are
paths inside the zip without `.md`, a single wrapping folder dropped; see `limits.safe_unzip`). The
scorer is `rewards.scorer.corpus.score_corpus`, exactly what `firered-ocr score` runs.
"""
from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

from firered_ocr.page_inputs import InputError

from app.config import AppConfig
from app.limits import TempArea, safe_unzip

RATE_HEADERS = ["category", "rate (share of pages)", "pages with it", "findings"]
REPORT_FILES = ("report.md", "report.html", "summary.json", "samples.jsonl")


def _stage(files: list[str] | None, dest: Path, role: str, cfg: AppConfig) -> Path | None:
    """One path `score_corpus` can read for this side: a JSONL file, a folder of .md files, or (ground truth
    only) OmniDocBench's .json."""
    paths = [Path(f) for f in files or []]
    if not paths:
        return None
    for p in paths:
        if p.stat().st_size > cfg.max_upload_bytes:
            raise InputError(f"{p.name}: over the upload limit of {cfg.max_upload_mb:g} MB")
    jsonl = [p for p in paths if p.suffix.lower() == ".jsonl" or (role == "ground truth" and p.suffix.lower() == ".json")]
    folder = dest / role
    folder.mkdir(parents=True)
    if jsonl:
        if len(paths) > 1:
            raise InputError(f"{role}: upload one JSONL (or OmniDocBench .json) file, or any number of .md files "
                             f"and zips (not both)")
        return Path(shutil.copyfile(jsonl[0], folder / jsonl[0].name))
    n_md = 0
    for p in paths:
        suffix = p.suffix.lower()
        if suffix == ".md":
            target = folder / p.name
            if target.exists():
                raise InputError(f"{role}: two uploaded files are named {p.name}")
            shutil.copyfile(p, target)
            n_md += 1
        elif suffix == ".zip":
            sub = folder if len(paths) == 1 else folder / p.stem
            n_md += len(safe_unzip(p, sub, suffixes=(".md",), max_files=cfg.max_scoring_files,
                                   max_bytes=int(cfg.max_unzipped_mb * 2**20)))
        else:
            raise InputError(f"{p.name}: unsupported file type '{suffix or '(none)'}' for {role} "
                             f"(.md files, zips of them, or one .jsonl)")
        if n_md > cfg.max_scoring_files:
            raise InputError(f"{role}: more than {cfg.max_scoring_files} pages; refused")
    if n_md == 0:
        raise InputError(f"{role}: no .md pages in the upload")
    return folder


def rate_rows(summary: dict) -> list[list]:
    rows = []
    for cat, rate in summary["hallucination_rates"].items():
        shown = "n/a (no ground truth)" if rate is None else f"{100 * rate:.1f} %"
        rows.append([cat, shown, summary["pages_with_finding"][cat], summary["findings"][cat]])
    return rows


def _strip(message: str, prefixes: list[str]) -> str:
    for prefix in prefixes:
        message = message.replace(prefix, "")
    return message


def _report_for_page(report_md: str) -> str:
    """report.md without its image links (the plots are shown in a gallery beside it)."""
    return re.sub(r"^!\[[^\]]*\]\([^)]*\)\s*$", "", report_md, flags=re.MULTILINE).replace(
        "## Distributions", "## Distributions (below)")


class CorpusScorer:
    def __init__(self, cfg: AppConfig, temp: TempArea) -> None:
        self.cfg = cfg
        self.temp = temp

    def score(self, pred_files, gt_files):
        """(status markdown, rates table, report markdown, plot images, downloadable files)."""
        import gradio as gr

        from rewards.scorer.corpus import score_corpus

        work = self.temp.request_dir("score-")
        try:
            pred = _stage(pred_files, work / "in", "predictions", self.cfg)
            if pred is None:
                raise InputError("upload the predictions (.md files, a zip of them, or a JSONL file)")
            gt = _stage(gt_files, work / "in", "ground truth", self.cfg)
        except InputError as exc:
            gr.Warning(str(exc))
            shutil.rmtree(work, ignore_errors=True)
            return f"**Error:** {exc}", [], "", [], []
        out = work / "report"
        summary = score_corpus(pred, gt, out, progress=False, on_error=None)
        # Server paths mean nothing to the user: messages name files as they were uploaded.
        prefixes = [str(work / "in" / role) + "/" for role in ("predictions", "ground truth")]
        errors = [_strip(e, prefixes) for e in summary["errors"]]
        archive = out / "report.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(out.iterdir()):
                if f.name != archive.name:
                    zf.write(f, f.name)
        plots = sorted(str(p) for p in out.glob("hist_*.png"))
        status = (f"Scored {summary['pages']} page(s), {summary['pages_with_gt']} with ground truth."
                  + (f" {len(errors)} input problem(s): " + "; ".join(errors[:5]) if errors else ""))
        downloads = [str(archive)] + [str(out / n) for n in REPORT_FILES if (out / n).is_file()]
        report = _report_for_page((out / "report.md").read_text(encoding="utf-8"))
        for e in summary["errors"]:
            report = report.replace(e, _strip(e, prefixes))
        return status, rate_rows(summary), report, plots, downloads


def build_scoring_tab(scorer: CorpusScorer, cfg: AppConfig) -> None:
    import gradio as gr

    gr.Markdown("Upload predictions and, optionally, ground truth: `.md` files (the id is the file name), "
                "zips of folders of `.md` files, or one JSONL file per side (`id` and `prediction` / "
                "`markdown`, as `firered-ocr score` reads them); ground truth may also be OmniDocBench's "
                "`.json` (tables then normalised as OmniDocBench does). Ids match across the two sides. "
                f"Limits: {cfg.max_upload_mb:g} MB a file, {cfg.max_scoring_files} pages, "
                f"{cfg.max_unzipped_mb:g} MB unpacked.")
    with gr.Row():
        # No file_types filter: a wrong file gets _stage's message naming it, not a generic refusal.
        preds = gr.File(label="Predictions", file_count="multiple", type="filepath", elem_id="score-pred")
        gts = gr.File(label="Ground truth (optional)", file_count="multiple", type="filepath",
                      elem_id="score-gt")
    go = gr.Button("Score", variant="primary", elem_id="score-button")
    status = gr.Markdown(elem_id="score-status")
    rates = gr.Dataframe(headers=RATE_HEADERS, label="Hallucination rates", interactive=False)
    downloads = gr.File(label="Report downloads (report.zip holds everything)", file_count="multiple",
                        interactive=False)
    plots = gr.Gallery(label="Score distributions", columns=3, height="auto", object_fit="contain")
    report = gr.Markdown(label="Report", latex_delimiters=[], elem_id="score-report")
    go.click(scorer.score, inputs=[preds, gts], outputs=[status, rates, report, plots, downloads],
             api_name="score")
