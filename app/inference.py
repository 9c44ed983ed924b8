"""The model behind the app: loaded once, lazily, on first use, and reused; one generation at a time.

A different model picked in the page replaces the loaded one (a demo machine holds one model). The
generation timeout is the model's own `max_time` stopping rule, so a slow page returns the text it has
so far, marked as stopped by the timeout, instead of an error.
"""
from __future__ import annotations

import dataclasses
import threading
import time

from app.config import AppConfig

TINY = "@tiny"  # the model choice that names the embedded tiny checkpoint whatever --model says


@dataclasses.dataclass
class ReadResult:
    text: str
    n_tokens: int
    truncated: bool  # no end-of-turn token: stopped by the token budget or the timeout
    timed_out: bool
    seconds: float
    model: str  # what was loaded (path or hub id)


class ModelService:
    def __init__(self, cfg: AppConfig) -> None:
        self.cfg = cfg
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._key: str | None = None
        self._loaded = None  # (Predictor, info) for self._key
        self.loads = 0  # how many times a model was loaded (the tests check reuse)

    def predictor(self, model: str | None):
        """(Predictor, info) for `model`: a path or hub id, TINY, or None/"" for the app's default
        (--model, else the tiny checkpoint); raises ModelLoadError with a message for the user."""
        from firered_ocr.model_loading import LoadConfig, ModelLoadError
        from firered_ocr.predict import Predictor

        key = (model or "").strip() or self.cfg.model or TINY
        with self._load_lock:
            if self._loaded is None or key != self._key:
                adapter = self.cfg.adapter if key == self.cfg.model else None
                # Without --data-dir the tiny checkpoint is the one `firered-ocr predict` builds and uses.
                home = str(self.cfg.resolved_data_dir()) if self.cfg.data_dir else None
                load = LoadConfig(model=None if key == TINY else key, adapter=adapter, device=self.cfg.device,
                                  home=home)
                # The old model stays until the new one has loaded: a typo in the model box must not
                # cost the next user a reload. (Peak memory holds both for a moment.)
                try:
                    loaded = Predictor.load(load)
                except ModelLoadError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a broken checkpoint fails in many ways; name it
                    raise ModelLoadError(f"{key}: could not load the model ({type(exc).__name__}: {exc})") from None
                self._loaded, self._key = loaded, key
                self.loads += 1
            return self._loaded

    def read(self, image, model: str | None, max_new_tokens: int, temperature: float) -> ReadResult:
        from firered_ocr.predict import GenerationConfig

        predictor, info = self.predictor(model)
        budget = max(1, min(int(max_new_tokens), self.cfg.max_new_tokens_cap))
        gen = GenerationConfig(max_new_tokens=budget, temperature=max(0.0, float(temperature)))
        with self._run_lock:
            # Predictor.generate passes no generation_config, so generate() reads the model's own, and
            # its max_time becomes a MaxTimeCriteria stopping rule.
            predictor.model.generation_config.max_time = self.cfg.generation_timeout_s
            start = time.perf_counter()
            out = predictor.generate([image], gen)[0]
            seconds = time.perf_counter() - start
        timed_out = out.truncated and out.n_tokens < budget and seconds >= 0.9 * self.cfg.generation_timeout_s
        return ReadResult(out.text, out.n_tokens, out.truncated, timed_out, seconds, str(info["model"]))
