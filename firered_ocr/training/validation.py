"""Periodic validation with the project's scorer: greedy-generate N held-out pages, score them, log rates.

The same numbers as `firered-ocr score` (rewards.scoring, one page at a time with its truncation flag):
- `rate/<category>`: share of pages with at least one finding of that hallucination category (the
  ground-truth categories over pages with ground truth, as in rewards.scorer.corpus);
- `hallucination_rate`: share of pages with at least one finding of any category (the structural
  hallucination rate the demo reports);
- `<component>`: mean of each reward component over the pages it judged, and `total`;
- `exact_match`: share of pages whose prediction equals the ground truth (whitespace-trimmed).

Greedy decoding on purpose: the sampled training reward can rise while the greedy output collapses
(docs/demo.md, "How a tiny model learns"), and greedy output is what users get from `firered-ocr predict`.
"""
from __future__ import annotations

import dataclasses
from transformers import TrainerCallback

from firered_ocr.predict import GenerationConfig, Predictor
from firered_ocr.prompts import OCR_INSTRUCTION


@dataclasses.dataclass
class ValidationConfig:
    n_pages: int = 16  # held-out pages scored each time (0 = no validation)
    every_steps: int = 0  # 0 = only when training ends
    batch_size: int = 8
    max_new_tokens: int | None = None  # None = the checkpoint's own generation budget
    n_samples_logged: int = 4  # completions written to samples.jsonl (and TensorBoard) each time


def summarize(scores: list, preds: list[str], gts: list[str | None]) -> dict[str, float]:
    """Scorer-compatible summary of one validation pass (see module docstring)."""
    from rewards.page.hallucination import CATEGORIES, GT_CATEGORIES

    n = len(scores)
    n_gt = sum(g is not None for g in gts)
    out: dict[str, float] = {"pages": float(n)}
    for cat in CATEGORIES:
        denom = n_gt if cat in GT_CATEGORIES else n
        hits = sum(any(f.category == cat for f in s.findings) for s in scores)
        if denom:
            out[f"rate/{cat}"] = hits / denom
    out["hallucination_rate"] = sum(bool(s.findings) for s in scores) / n if n else 0.0
    components: dict[str, list[float]] = {}
    for s in scores:
        for name, value in s.components.items():
            if value is not None:
                components.setdefault(name, []).append(value)
    for name, values in components.items():
        out[name] = sum(values) / len(values)
    out["total"] = sum(s.total for s in scores) / n if n else 0.0
    if n_gt:
        out["exact_match"] = sum(g is not None and p.strip() == g.strip() for p, g in zip(preds, gts)) / n_gt
    return out


def evaluate(model, processor, images: list, gts: list[str | None], *, ids: list[str] | None = None,
             batch_size: int = 8, max_new_tokens: int | None = None,
             instruction: str = OCR_INSTRUCTION) -> tuple[dict[str, float], list[dict]]:
    """Greedy predictions on `images`, scored against `gts`: (summary, one record per page)."""
    from rewards.scoring import score_page

    was_training = model.training
    model.eval()
    try:
        predictor = Predictor(model, processor, instruction)
        gen_cfg = GenerationConfig(max_new_tokens=max_new_tokens, temperature=0.0)
        gens = []
        for start in range(0, len(images), batch_size):
            gens.extend(predictor.generate(images[start:start + batch_size], gen_cfg))
    finally:
        if was_training:
            model.train()
    preds = [g.text for g in gens]
    scores = [score_page(p, gt, hit_max_tokens=g.truncated) for p, gt, g in zip(preds, gts, gens)]
    ids = ids or [str(i) for i in range(len(images))]
    records = [{"id": i, "prediction": p, "ground_truth": gt, "total": s.total, "truncated": g.truncated,
                "findings": [f.category for f in s.findings]}
               for i, p, gt, g, s in zip(ids, preds, gts, gens, scores)]
    return summarize(scores, preds, gts), records


class ValidationCallback(TrainerCallback):
    """Validate every `every_steps` optimizer steps and when training ends; log as `val/<metric>`.

    Metrics reach every logging integration through `trainer.log` (so the JSONL, TensorBoard and the PNG
    all carry them): call `attach(trainer)` once the trainer exists. Generation runs on the main process
    only (the other DDP ranks wait at their next gradient all-reduce), except under DeepSpeed ZeRO-3, where
    every rank must take part in each forward pass.
    """

    def __init__(self, cfg: ValidationConfig, dataset, processor, *, instruction: str = OCR_INSTRUCTION,
                 metrics_logger=None, prefix: str = "val/") -> None:
        self.cfg = cfg
        self.processor = processor
        self.instruction = instruction
        self.metrics_logger = metrics_logger
        self.prefix = prefix
        n = min(cfg.n_pages, len(dataset)) if dataset is not None else 0
        subset = dataset.select(range(n)) if n else None
        self.images = [row["image"].convert("RGB") for row in subset] if subset is not None else []
        answer_key = "ground_truth" if subset is not None and "ground_truth" in subset.column_names else "markdown"
        self.gts = list(subset[answer_key]) if subset is not None else []
        self.ids = list(subset["id"]) if subset is not None else []
        self.trainer = None
        self.history: list[dict] = []
        self._last_step = -1

    def attach(self, trainer) -> "ValidationCallback":
        self.trainer = trainer
        return self

    def run(self, model, step: int, report_to: list[str] | None = None, control=None,
            report: bool = True) -> dict[str, float]:
        summary, records = evaluate(model, self.processor, self.images, self.gts, ids=self.ids,
                                    batch_size=self.cfg.batch_size, max_new_tokens=self.cfg.max_new_tokens,
                                    instruction=self.instruction)
        self._last_step = step
        metrics = {f"{self.prefix}{k}": v for k, v in summary.items()}
        self.history.append({"step": step, **metrics})
        if not report:
            return metrics
        if self.trainer is not None:
            # trainer.log clears control.should_log (CallbackHandler.on_log): keep the step's own loss log
            should_log = control.should_log if control is not None else None
            self.trainer.log(metrics)
            if control is not None:
                control.should_log = should_log
        if self.metrics_logger is not None and self.cfg.n_samples_logged:
            self.metrics_logger.log_samples(step, records[:self.cfg.n_samples_logged], report_to)
        return metrics

    def _maybe_run(self, args, state, control, model) -> None:
        from transformers.integrations import is_deepspeed_zero3_enabled

        # Under ZeRO-3 every rank holds a shard of each weight: all ranks must generate together.
        everyone = is_deepspeed_zero3_enabled()
        if not self.images or model is None or self._last_step == state.global_step:
            return
        if not (state.is_world_process_zero or everyone):
            return
        self.run(model, state.global_step, list(args.report_to or []), control,
                 report=state.is_world_process_zero)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        every = self.cfg.every_steps
        if every and state.global_step % every == 0:
            self._maybe_run(args, state, control, model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self._maybe_run(args, state, control, model)
