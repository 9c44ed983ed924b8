"""The "Read a page" tab: upload, pick a page and a model, generate, and see the output rendered, raw,
and diagnosed; optional ground truth adds the comparison scores and its own rendering beside the output.

`PageReader` holds the handlers (plain methods returning plain values, so the tests can also call them
without a server); `build_page_tab` lays the components out and wires them.
"""
from __future__ import annotations

from pathlib import Path

from firered_ocr.model_loading import ModelLoadError
from firered_ocr.page_inputs import InputError

from app import diagnostics
from app.config import AppConfig
from app.examples import Example
from app.inference import TINY, ModelService
from app.limits import inspect_upload, load_page_image

# Every delimiter of the output convention plus the LaTeX ones, so any formula the model writes is typeset.
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    {"left": "$", "right": "$", "display": False},
    {"left": "\\(", "right": "\\)", "display": False},
]
DEFAULT_MODEL_LABEL = "tiny random checkpoint (embedded default)"
GT_SUFFIXES = (".md", ".markdown", ".txt")


def error_markdown(message: str) -> str:
    return f"**Error:** {message}"


class PageReader:
    def __init__(self, cfg: AppConfig, models: ModelService) -> None:
        self.cfg = cfg
        self.models = models

    def model_choices(self) -> list[tuple[str, str]]:
        if self.cfg.model:
            return [(f"{self.cfg.model} (--model)", self.cfg.model), (DEFAULT_MODEL_LABEL, TINY)]
        return [(DEFAULT_MODEL_LABEL, TINY)]

    def on_upload(self, file: str | None):
        """(status markdown, page selector update, preview image) for a newly chosen file."""
        import gradio as gr

        if not file:
            return "", gr.update(choices=[1], value=1), None
        try:
            doc = inspect_upload(file, self.cfg)
            preview = load_page_image(doc, 0, self.cfg)
        except InputError as exc:
            gr.Warning(str(exc))
            return error_markdown(str(exc)), gr.update(choices=[1], value=1), None
        note = f"{doc.name}: {doc.kind}, {doc.n_pages} page(s)"
        if doc.offered < doc.n_pages:
            note += f"; pages 1-{doc.offered} can be read (page cap {self.cfg.max_pages})"
        return note, gr.update(choices=list(range(1, doc.offered + 1)), value=1), preview

    def read_ground_truth(self, gt_text: str | None, gt_file: str | None) -> str | None:
        if gt_file:
            path = Path(gt_file)
            if path.suffix.lower() not in GT_SUFFIXES:
                raise InputError(f"{path.name}: ground truth must be a Markdown file ({', '.join(GT_SUFFIXES)})")
            if path.stat().st_size > self.cfg.max_upload_bytes:
                raise InputError(f"{path.name}: over the upload limit of {self.cfg.max_upload_mb:g} MB")
            try:
                return path.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"{path.name}: not UTF-8 text (byte {exc.start})") from None
        return gt_text if gt_text and gt_text.strip() else None

    def render_ground_truth(self, gt_text: str | None, gt_file: str | None) -> str:
        try:
            gt = self.read_ground_truth(gt_text, gt_file)
        except InputError as exc:
            return error_markdown(str(exc))
        return gt or ""

    def read(self, file, page, model_choice, model_text, max_new_tokens, temperature, gt_text, gt_file):
        """Everything the Run button fills: status, rendered output, rendered ground truth, raw output,
        findings table, highlighted output, scores table."""
        import gradio as gr

        try:
            if not file:
                raise InputError("upload an image or a PDF first (or click an example)")
            gt = self.read_ground_truth(gt_text, gt_file)
            doc = inspect_upload(file, self.cfg)
            try:
                page_index = int(page or 1) - 1
            except (TypeError, ValueError):
                raise InputError(f"page {page!r} is not a page number") from None
            image = load_page_image(doc, page_index, self.cfg)
            model = (model_text or "").strip() or model_choice or ""
            result = self.models.read(image, model, max_new_tokens, temperature)
        except (InputError, ModelLoadError) as exc:
            gr.Warning(str(exc))
            return (error_markdown(str(exc)), "", self.render_ground_truth(gt_text, gt_file), "", [], [], [])
        from rewards import score_page

        try:
            # A timeout or the token budget ending the text is a truncation the scorer must know about.
            score = score_page(result.text, gt, hit_max_tokens=result.truncated)
        except Exception as exc:  # noqa: BLE001 - the output is still worth showing; the failure is named
            message = f"the structural checks failed on this output ({type(exc).__name__}: {exc})"
            gr.Warning(message)
            return (error_markdown(message), result.text, gt or "", result.text, [], [], [])
        rows = diagnostics.findings_rows(result.text, score.findings)
        stop = ("stopped by the generation timeout" if result.timed_out
                else "stopped at max new tokens" if result.truncated else "finished")
        status = (f"Done: {doc.name} page {page_index + 1}: {result.n_tokens} tokens in {result.seconds:.1f} s "
                  f"({stop}), model `{result.model}`. {diagnostics.summary_line(score.findings)}"
                  + ("" if gt is not None else " Add ground truth for TEDS, TEDS-S, text NED and cell alignment."))
        return (status, result.text, gt or "", result.text, rows,
                diagnostics.highlighted(result.text, score.findings),
                diagnostics.score_rows(score.components, score.total))


def build_page_tab(reader: PageReader, cfg: AppConfig, examples: list[Example]) -> None:
    """The tab's components and events; call inside a `gr.Blocks` / `gr.Tab` context."""
    import gradio as gr

    with gr.Row():
        with gr.Column(scale=1):
            # No file_types filter: every wrong file reaches inspect_upload and gets its specific message.
            upload = gr.File(label=f"Page image or PDF (up to {cfg.max_upload_mb:g} MB)", type="filepath",
                             elem_id="page-upload")
            # Custom values allowed: an API caller may name a page without uploading through the selector;
            # load_page_image checks the range itself.
            page = gr.Dropdown(choices=[1], value=1, label=f"Page (first {cfg.max_pages} of a PDF)",
                               allow_custom_value=True, elem_id="page-select")
            preview = gr.Image(label="Page", type="pil", interactive=False, height=320)
            choices = reader.model_choices()
            model_choice = gr.Dropdown(choices=choices, value=choices[0][1], label="Model")
            model_text = gr.Textbox(label="…or a local checkpoint directory / hub id", max_lines=1,
                                    placeholder="e.g. runs/demo/grpo or FireRedTeam/FireRed-OCR")
            max_tokens = gr.Slider(1, cfg.max_new_tokens_cap, value=cfg.default_max_new_tokens, step=1,
                                   label="Max new tokens")
            temperature = gr.Slider(0.0, 1.5, value=0.0, step=0.05, label="Temperature (0 = greedy)")
            with gr.Accordion("Ground truth (optional)", open=True):
                gt_text = gr.Textbox(label="Paste the page's Markdown", lines=6, elem_id="gt-text")
                gt_file = gr.File(label="…or upload a .md file", type="filepath",
                                  elem_id="gt-file")
            run = gr.Button("Read the page", variant="primary", elem_id="run-button")
        with gr.Column(scale=2):
            status = gr.Markdown(elem_id="status")
            # Side by side, same renderer: the ground truth shows what the output should have looked like.
            with gr.Row(equal_height=False):
                with gr.Column():
                    gr.Markdown("**Model output, rendered**")
                    rendered = gr.Markdown(container=True, latex_delimiters=LATEX_DELIMITERS,
                                           elem_id="pred-rendered", min_height=120)
                with gr.Column():
                    gr.Markdown("**Ground truth, rendered**")
                    gt_rendered = gr.Markdown(container=True, latex_delimiters=LATEX_DELIMITERS,
                                              elem_id="gt-rendered", min_height=120)
            findings = gr.Dataframe(headers=diagnostics.FINDING_HEADERS, label="Structural hallucinations",
                                    wrap=True, interactive=False, elem_id="findings",
                                    column_widths=["16%", "42%", "7%", "9%", "10%", "16%"])
            marked = gr.HighlightedText(label="Raw output, findings highlighted", combine_adjacent=True,
                                        show_legend=True, elem_id="highlighted")
            scores = gr.Dataframe(headers=diagnostics.SCORE_HEADERS, label="Scores", interactive=False,
                                  elem_id="scores")
            raw = gr.Textbox(label="Raw output", lines=8, max_lines=30, buttons=["copy"], elem_id="raw")
    if examples:
        gr.Examples(examples=[[str(e.image), e.markdown] for e in examples], inputs=[upload, gt_text],
                    label="Synthetic example pages (with their exact ground truth)", elem_id="examples")

    # A new file clears the previous page's results, so that they are never read as this page's.
    upload.change(reader.on_upload, inputs=upload, outputs=[status, page, preview], api_name="inspect_upload"
                  ).then(lambda: ("", "", [], [], []), outputs=[rendered, raw, findings, marked, scores],
                         api_name=False, queue=False)
    for trigger in (gt_text.change, gt_file.change):
        trigger(reader.render_ground_truth, inputs=[gt_text, gt_file], outputs=gt_rendered,
                api_name=False, queue=False)
    run.click(reader.read, inputs=[upload, page, model_choice, model_text, max_tokens, temperature, gt_text,
                                   gt_file],
              outputs=[status, rendered, gt_rendered, raw, findings, marked, scores], api_name="read_page")
