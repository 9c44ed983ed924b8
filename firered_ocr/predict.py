"""Prediction: page images in, Markdown out, in batches, resumable.

`Predictor` wraps a loaded model for batched generation (used by the CLI, the training validation loop
and the app). `predict_to_dir` is the `firered-ocr predict` job: one `.md` per page plus a
`predictions.jsonl` manifest, pages already written skipped, unreadable inputs reported and skipped.
With `server.url` set the same job runs through an OpenAI-compatible server instead (`server_predict`);
`PagePlan` is what the two engines share: which pages to read, how a page and its record are written.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from firered_ocr.model_loading import LoadConfig, load_model_and_processor
from firered_ocr.page_inputs import InputError, PageRef, expand_inputs, list_pages, load_page, parse_page_ranges
from firered_ocr.prompts import OCR_INSTRUCTION, build_messages
from firered_ocr.server_client import ServerConfig

MANIFEST = "predictions.jsonl"
DEFAULT_MAX_NEW_TOKENS = 4096  # a dense page of tables is 2-4k tokens for Qwen's tokenizer


@dataclasses.dataclass
class GenerationConfig:
    # None: the checkpoint's own generation_config.max_new_tokens if it sets one, else DEFAULT_MAX_NEW_TOKENS.
    max_new_tokens: int | None = None
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int = 0


@dataclasses.dataclass
class PredictConfig:
    inputs: list[str] = dataclasses.field(default_factory=list)
    out: str = "predictions"
    dpi: int = 200
    pages: str | None = None  # "1-3,7"
    batch_size: int = 4
    load: LoadConfig = dataclasses.field(default_factory=LoadConfig)
    generation: GenerationConfig = dataclasses.field(default_factory=GenerationConfig)
    instruction: str = OCR_INSTRUCTION
    server: ServerConfig = dataclasses.field(default_factory=ServerConfig)  # url None: read in-process


@dataclasses.dataclass
class Generation:
    text: str
    n_tokens: int
    truncated: bool  # stopped by max_new_tokens rather than by an end-of-turn token


class Predictor:
    """Batched generation with a loaded model; the one place that knows how to prompt it."""

    def __init__(self, model, processor, instruction: str = OCR_INSTRUCTION):
        self.model = model
        self.processor = processor
        self.instruction = instruction
        tok = processor.tokenizer
        eos = model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) | {tok.convert_tokens_to_ids("<|im_end|>")}
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    @classmethod
    def load(cls, cfg: LoadConfig, instruction: str = OCR_INSTRUCTION) -> tuple["Predictor", dict]:
        model, processor, info = load_model_and_processor(cfg)
        return cls(model, processor, instruction), info

    def prompt_text(self) -> str:
        return self.processor.apply_chat_template(build_messages(self.instruction), tokenize=False,
                                                  add_generation_prompt=True)

    def max_new_tokens(self, gen: GenerationConfig) -> int:
        if gen.max_new_tokens is not None:
            return gen.max_new_tokens
        return getattr(self.model.generation_config, "max_new_tokens", None) or DEFAULT_MAX_NEW_TOKENS

    def generate(self, images: list, gen: GenerationConfig) -> list[Generation]:
        import torch

        prompt = self.prompt_text()
        inputs = self.processor(text=[prompt] * len(images), images=images, return_tensors="pt", padding=True)
        inputs = inputs.to(self.model.device)
        sampling = gen.temperature > 0
        kwargs = dict(max_new_tokens=self.max_new_tokens(gen), do_sample=sampling, pad_token_id=self.pad_id,
                      repetition_penalty=gen.repetition_penalty)
        if sampling:
            torch.manual_seed(gen.seed)
            kwargs.update(temperature=gen.temperature, top_p=gen.top_p)
        else:  # silence "temperature is set but do_sample=False" from checkpoints with sampling defaults
            kwargs.update(temperature=None, top_p=None, top_k=None)
        with torch.inference_mode():
            out = self.model.generate(**inputs, **kwargs)
        new = out[:, inputs["input_ids"].shape[1]:].tolist()
        results = []
        for ids in new:
            end = next((i for i, t in enumerate(ids) if t in self.eos_ids), None)
            body = ids if end is None else ids[:end]
            body = [t for t in body if t != self.pad_id]
            text = self.processor.tokenizer.decode(body, skip_special_tokens=True)
            results.append(Generation(text=text.strip("\n"), n_tokens=len(body), truncated=end is None))
        return results


def _read_manifest(path: Path) -> dict[str, dict]:
    records = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
                records[rec["id"]] = rec
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line cut off by a kill: the page is redone or re-listed
    return records


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def page_record(ref: PageRef, size: tuple[int, int], gen: Generation, seconds: float, model_name) -> dict:
    """One page's line in predictions.jsonl (both engines write exactly these fields); size is (width, height)."""
    return {"id": ref.id, "source": str(ref.source), "page": ref.page + 1, "n_pages": ref.n_pages,
            "output": ref.output_name, "width": size[0], "height": size[1], "n_tokens": gen.n_tokens,
            "truncated": gen.truncated, "seconds": round(seconds, 4), "model": model_name}


@dataclasses.dataclass
class PagePlan:
    """What a run has to do: every selected page, those still to read, and what earlier runs left."""
    out: Path
    refs: list[PageRef]
    todo: list[PageRef]
    records: dict[str, dict]
    errors: list[Exception]  # unreadable inputs, and pages the server could not read

    @property
    def manifest_path(self) -> Path:
        return self.out / MANIFEST

    def write_page(self, manifest, ref: PageRef, size: tuple[int, int], gen: Generation, seconds: float,
                   model_name) -> None:
        """The page's .md (atomically: a kill leaves it whole or absent), then its record, flushed."""
        _write_atomic(self.out / ref.output_name, gen.text + "\n")
        rec = page_record(ref, size, gen, seconds, model_name)
        self.records[ref.id] = rec
        manifest.write(json.dumps(rec) + "\n")
        manifest.flush()  # a killed run keeps every finished page's record

    def finish(self, log=print) -> int:
        """Rewrite the manifest once, in input order, one record per page (resumed runs appended to it)."""
        ordered = []
        for ref in self.refs:
            rec = self.records.get(ref.id)
            if rec is None and (self.out / ref.output_name).is_file():  # written by a run killed before its record
                rec = {"id": ref.id, "source": str(ref.source), "page": ref.page + 1, "n_pages": ref.n_pages,
                       "output": ref.output_name}
            if rec is not None:
                ordered.append(rec)
        _write_atomic(self.manifest_path, "".join(json.dumps(r) + "\n" for r in ordered))
        skipped = len(self.refs) - len(self.todo)
        log(f"{len(ordered)} pages in {self.out} ({len(self.todo)} predicted, {skipped} already there, "
            f"{len(self.errors)} error(s))")
        return 1 if self.errors else 0


def plan_pages(cfg: PredictConfig, log=print) -> PagePlan:
    """List the pages, report unreadable inputs, and skip pages an earlier run already wrote."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    files, errors = expand_inputs(cfg.inputs)
    refs, page_errors = list_pages(files, parse_page_ranges(cfg.pages))
    errors += page_errors
    for err in errors:
        print(f"error: {err}", file=sys.stderr)
    todo = [r for r in refs if not (out / r.output_name).is_file()]
    if len(todo) < len(refs):
        log(f"resuming: {len(refs) - len(todo)} of {len(refs)} pages already in {out}")
    return PagePlan(out=out, refs=refs, todo=todo, records=_read_manifest(out / MANIFEST), errors=errors)


def predict_to_dir(cfg: PredictConfig, predictor: Predictor | None = None, log=print) -> int:
    """Run `firered-ocr predict`; returns the exit status (1 if any input failed)."""
    if cfg.server.url:  # the second engine: an OpenAI-compatible server does the reading
        from firered_ocr.server_predict import predict_via_server

        return predict_via_server(cfg, log=log)
    from tqdm import tqdm

    plan = plan_pages(cfg, log)
    info: dict = {}
    if plan.todo and predictor is None:
        predictor, info = Predictor.load(cfg.load, cfg.instruction)
        log(f"model: {info['model']} on {info['device']} ({info['dtype']})")
    model_name = info.get("model", getattr(getattr(predictor, "model", None), "name_or_path", None))

    todo, errors = plan.todo, plan.errors
    bar = tqdm(total=len(todo), unit="page", desc="predict", disable=not todo)
    with plan.manifest_path.open("a", encoding="utf-8") as manifest:
        for start in range(0, len(todo), cfg.batch_size):
            batch: list[PageRef] = []
            images = []
            for ref in todo[start:start + cfg.batch_size]:
                try:
                    images.append(load_page(ref, cfg.dpi))
                    batch.append(ref)
                except InputError as err:
                    errors.append(err)
                    print(f"error: {err}", file=sys.stderr)
                    bar.update(1)
            if not batch:
                continue
            t0 = time.perf_counter()
            gens = predictor.generate(images, cfg.generation)
            seconds = (time.perf_counter() - t0) / len(batch)
            for ref, image, gen in zip(batch, images, gens):
                plan.write_page(manifest, ref, image.size, gen, seconds, model_name)
            bar.update(len(batch))
    bar.close()
    return plan.finish(log)
