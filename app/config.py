"""The app's one typed config: where it serves, which model, and the limits a public demo needs.

Filled by `firered_ocr.config_io.load_config` (defaults, then an optional YAML `app:` section, then
`--set key=value` and the command-line flags), like every other stage of the project.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from firered_ocr.config_io import ConfigError


@dataclasses.dataclass
class AppConfig:
    model: str | None = None  # hub id or local dir; None = the demo's trained model if any, else the tiny one
    demo_dir: str = "runs/demo"  # where `make demo` wrote its run; its SFT + GRPO model is the default
    adapter: str | None = None  # optional LoRA adapter directory for `model`
    device: str | None = None  # None = best available
    host: str = "127.0.0.1"  # loopback unless the operator says otherwise
    port: int | None = None  # None = Gradio's pick (7860, or the next free port)
    data_dir: str | None = None  # example pages (and the tiny checkpoint if set); None = $FIRERED_OCR_HOME/app
    temp_dir: str | None = None  # every file the app writes at run time; None = a fresh dir, removed on exit
    # Limits.
    max_upload_mb: float = 20.0  # per uploaded file
    max_pages: int = 50  # pages of a PDF offered in the selector; later pages are not rendered
    max_image_megapixels: float = 60.0  # decompression-bomb guard for images and rendered pages
    dpi: int = 144  # PDF render resolution
    max_new_tokens_cap: int = 2048  # the slider's top
    default_max_new_tokens: int = 128  # CPU-friendly default for the tiny model
    generation_timeout_s: float = 120.0  # generation stops here and returns what it has
    concurrency: int = 1  # events run at once (one model, one generation at a time)
    queue_size: int = 16  # waiting events beyond which new ones are refused
    temp_max_age_s: float = 3600.0  # per-request temp files older than this are swept
    max_scoring_files: int = 2000  # .md pages in one scoring upload (zips expanded)
    max_unzipped_mb: float = 200.0  # zip-bomb guard for the scoring tab
    n_examples: int = 3  # synthetic example pages built at first start (0 = none)

    def validate(self) -> None:
        """Refuse nonsense limits early, naming the key."""
        positive = ("max_upload_mb", "max_pages", "max_image_megapixels", "dpi", "max_new_tokens_cap",
                    "default_max_new_tokens", "generation_timeout_s", "concurrency", "queue_size",
                    "temp_max_age_s", "max_scoring_files", "max_unzipped_mb")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(f"app.{name} must be > 0, got {getattr(self, name)!r}")
        if self.default_max_new_tokens > self.max_new_tokens_cap:
            raise ConfigError(f"app.default_max_new_tokens ({self.default_max_new_tokens}) exceeds "
                              f"app.max_new_tokens_cap ({self.max_new_tokens_cap})")
        if self.n_examples < 0:
            raise ConfigError(f"app.n_examples must be >= 0, got {self.n_examples}")
        if self.port is not None and not 0 < self.port < 65536:
            raise ConfigError(f"app.port must be in 1..65535, got {self.port}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def resolved_data_dir(self) -> Path:
        if self.data_dir:
            return Path(self.data_dir).expanduser()
        home = os.environ.get("FIRERED_OCR_HOME", Path.home() / ".cache" / "firered-ocr")
        return Path(home) / "app"

    def resolve_model(self) -> str:
        """Fill in the default model and say which one the app shows. With no --model, the model `make demo`
        trained (`<demo_dir>/grpo/final`) when it exists, so a new user's first page is read by a trained
        model; else the embedded random-weight tiny checkpoint, which writes noise."""
        if self.model:
            return f"app: showing {self.model}" + (f" with adapter {self.adapter}" if self.adapter else "")
        trained = Path(self.demo_dir) / "grpo" / "final"
        if (trained / "config.json").is_file():
            self.model = str(trained)
            return f"app: showing the model `make demo` trained (SFT + GRPO): {trained} (--model picks another)"
        return ("app: showing the random-weight tiny checkpoint, which reads nothing yet; run `make demo` first "
                f"(it trains one into {trained}) or pass --model")
