"""The app as a whole: both tabs in one `gr.Blocks`, the queue, and a launcher that sets up (and later
removes) the app's temp dir.

`launch_app(cfg)` is what `firered-ocr app` and the tests call; it returns an `AppHandle` whose `close()`
stops the server, puts Gradio's and Python's temp settings back and removes the temp dir it created.
"""
from __future__ import annotations

import dataclasses

from app.config import AppConfig
from app.examples import Example, ensure_examples
from app.inference import ModelService
from app.limits import TempArea
from app.page_tab import PageReader, build_page_tab
from app.scoring_tab import CorpusScorer, build_scoring_tab

INTRO = """# firered-ocr: structural document parsing
Upload a page image or a PDF and read it with a Qwen3-VL checkpoint. The output is rendered (tables as
tables, math typeset), shown raw, and checked for **structural hallucination**: unclosed or ragged tables,
invalid formulas, unclosed tags, repetition loops, truncation, and, with ground truth, invented or missing
rows and tables. The default checkpoint is a tiny random-weight model (it writes garbage, fast): pass
`--model DIR` or type a checkpoint below for real output."""


def build_demo(cfg: AppConfig, temp: TempArea, models: ModelService, examples: list[Example]):
    import gradio as gr

    with gr.Blocks(title="firered-ocr", delete_cache=(600, int(cfg.temp_max_age_s))) as demo:
        gr.Markdown(INTRO)
        with gr.Tab("Read a page"):
            build_page_tab(PageReader(cfg, models), cfg, examples)
        with gr.Tab("Score a corpus"):
            build_scoring_tab(CorpusScorer(cfg, temp), cfg)
    demo.queue(default_concurrency_limit=cfg.concurrency, max_size=cfg.queue_size)
    return demo


@dataclasses.dataclass
class AppHandle:
    demo: object
    temp: TempArea
    models: ModelService
    examples: list[Example]
    url: str
    closed: bool = False

    def close(self) -> None:
        """Stop the server and remove the temp dir; a second call does nothing."""
        if self.closed:
            return
        self.closed = True
        try:
            self.demo.close()
        finally:
            self.temp.close()


def launch_app(cfg: AppConfig, *, prevent_thread_lock: bool = False, log=print) -> AppHandle:
    """Build and serve the app; with prevent_thread_lock it returns once the server is up."""
    cfg.validate()
    temp = TempArea(cfg.temp_dir, cfg.temp_max_age_s)
    temp.activate()  # before gradio builds anything: its upload cache is read from the environment
    try:
        import gradio as gr

        examples = ensure_examples(cfg, log=log)
        models = ModelService(cfg)
        demo = build_demo(cfg, temp, models, examples)
        # System fonts only: the default theme fetches Google Fonts, which an offline demo cannot reach.
        theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
        handle = AppHandle(demo, temp, models, examples, "")
        log(f"temp dir: {temp.root}")
        demo.launch(server_name=cfg.host, server_port=cfg.port, prevent_thread_lock=prevent_thread_lock,
                    max_file_size=f"{cfg.max_upload_mb:g}mb", ssr_mode=False, theme=theme, show_error=True,
                    quiet=prevent_thread_lock, footer_links=[])
        handle.url = demo.local_url
        return handle
    except BaseException:
        temp.close()
        raise
