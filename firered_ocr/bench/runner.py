"""`firered-ocr bench methods`: the whole experiment, seed by seed and regime by regime.

1. the tiny checkpoint and the task corpus (data_prep's tiny tables with merged cells and formulas), and a
   silver copy of it (silver.py);
2. per regime (or per regime and seed: `sft_per_seed`), one SFT checkpoint shared by the arms, and its
   held-out score;
3. every arm from that checkpoint under the same training-seconds budget (arms.py), with held-out greedy
   evaluations during training;
4. results.json, results.md and one plot per regime (report.py).
Finished arms are reused on a rerun (their result.json), so an interrupted bench resumes where it stopped.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from firered_ocr.bench.arms import run_arm
from firered_ocr.bench.config import BenchMethodsConfig, load_arm
from firered_ocr.bench.silver import write_silver_copy


def _evaluator(cfg: BenchMethodsConfig, processor, data_dir: Path):
    from firered_ocr.training.data import DataConfig, load_split
    from firered_ocr.training.validation import evaluate

    pages = load_split(DataConfig(path=str(data_dir)), "validation", max_pages=cfg.eval_pages)
    images = [row["image"].convert("RGB") for row in pages]
    gts = list(pages["markdown"])

    def run(model) -> dict:
        summary, _ = evaluate(model, processor, images, gts, batch_size=32, max_new_tokens=cfg.max_new_tokens)
        return summary

    return run


def shared_sft(cfg: BenchMethodsConfig, model_dir: Path, data_dir: Path, out: Path, seed: int, log) -> tuple[Path, dict]:
    """The seed's SFT checkpoint and its held-out score (reused when present)."""
    from firered_ocr.bench.arms import _Seeded
    from firered_ocr.demo import run_sft_stage

    final, score_file = out / "final", out / "heldout.json"
    if score_file.is_file() and (final / "config.json").is_file():
        return final, json.loads(score_file.read_text())
    began = time.perf_counter()
    run = run_sft_stage(_Seeded(cfg, seed), model_dir, data_dir, out, steps=cfg.sft_steps, lr=cfg.sft_lr,
                        warmup=cfg.sft_warmup, scheduler="cosine", batch=cfg.sft_batch)
    final = Path(run["final_dir"])
    from firered_ocr.model_loading import LoadConfig, load_model_and_processor

    model, processor, _ = load_model_and_processor(LoadConfig(model=str(final), device="cpu"))
    score = {"seconds": round(time.perf_counter() - began, 1), **_evaluator(cfg, processor, data_dir)(model)}
    score_file.write_text(json.dumps(score, indent=1) + "\n", encoding="utf-8")
    log(f"  SFT seed {seed}: {cfg.sft_steps} steps in {score['seconds']:.0f} s, held-out hallucination rate "
        f"{score['hallucination_rate']:.3f}")
    return final, score


def run_bench(cfg: BenchMethodsConfig, *, quick: bool = False, log=print) -> dict:
    import torch

    from firered_ocr.demo import build_corpus
    from firered_ocr.model_loading import LoadConfig, load_model_and_processor
    from firered_ocr.tiny_model import build_tiny_model, is_tiny_checkpoint

    from firered_ocr.bench.report import write_report

    torch.set_num_threads(cfg.cpu_threads)
    began = time.perf_counter()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    arms = [load_arm(ref, cfg.arms_dir) for ref in ((cfg.quick_arms or cfg.arms) if quick else cfg.arms)]
    regimes = cfg.task.regimes[:1] if quick else list(cfg.task.regimes)
    seeds = 1 if quick else cfg.seeds
    if not arms:
        raise ValueError("no arms: list arm names under `arms:` (files in configs/bench_arms/)")
    model_dir = out / "tiny-model"
    if not is_tiny_checkpoint(model_dir):
        build_tiny_model(model_dir, seed=0)
    exact = build_corpus(cfg.task, out / "data", log)
    data_dirs = {"exact": exact}
    if "silver" in regimes:
        data_dirs["silver"], errors = (out / "data-silver"), write_silver_copy(exact, out / "data-silver")
        log(f"silver labels: training pages per extractor error {errors}")
    results: dict = {"config": dataclasses.asdict(cfg), "quick": quick, "regimes": {}}
    for regime in regimes:
        runs: dict = {"sft": [], "arms": {arm.name: [] for arm in arms}}
        for seed in range(seeds):
            seed_dir = out / regime / f"seed{seed}"
            log(f"[{time.perf_counter() - began:5.0f} s] {regime}, seed {seed}")
            sft_seed = seed if cfg.sft_per_seed else 0
            sft_dir = (seed_dir if cfg.sft_per_seed else out / regime) / "sft"
            sft_final, sft_score = shared_sft(cfg, model_dir, data_dirs[regime], sft_dir, sft_seed, log)
            if cfg.sft_per_seed or seed == 0:
                runs["sft"].append(sft_score)
            _, processor, _ = load_model_and_processor(LoadConfig(model=str(sft_final), device="cpu"))
            evaluate = _evaluator(cfg, processor, data_dirs[regime])
            for arm in arms:
                res = run_arm(cfg, arm, seed=seed, sft_final=sft_final, sft_end_lr=cfg.sft_lr * 0.1,
                              data_dir=data_dirs[regime], run_dir=seed_dir / arm.name, evaluate=evaluate)
                runs["arms"][arm.name].append(res)
                status = res.get("error") or (f"hallucination {res['final'].get('hallucination_rate', float('nan')):.3f}, "
                                              f"{res['steps']} steps, {res['rollouts']} rollouts")
                log(f"[{time.perf_counter() - began:5.0f} s]   {arm.name}: {status}")
        results["regimes"][regime] = runs
    results["labels"] = {arm.name: arm.label for arm in arms}
    results["total_seconds"] = round(time.perf_counter() - began, 1)
    write_report(results, out)
    log(f"written: {out / 'results.md'}, {out / 'results.json'} (total {results['total_seconds']:.0f} s)")
    return results
