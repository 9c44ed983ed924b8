"""Run one arm from the shared SFT checkpoint under the wall-time budget, and record its curve.

Every arm gets the same SFT checkpoint, the same data folder, the same seed (so the same data order where
the arm's method does not change it) and the same training-seconds budget; its result is written to
`<run_dir>/result.json` and an existing one is reused, so an interrupted bench resumes arm by arm.
"""
from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path

from firered_ocr.bench.config import ArmConfig, BenchMethodsConfig
from firered_ocr.bench.tracking import BudgetAndCurve
from firered_ocr.config_io import ConfigError, from_dict


def merged(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "rewards":
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)  # a `rewards:` mapping replaces the base mix whole
    return out


def grpo_config(cfg: BenchMethodsConfig, arm: ArmConfig, sft_final: Path, data_dir: Path, out: Path, seed: int):
    from firered_ocr.training.grpo import GRPOStageConfig

    data = merged(cfg.grpo_base, arm.grpo)
    data.update({"model": str(sft_final), "data": {"path": str(data_dir)}, "output_dir": str(out),
                 "max_completion_length": cfg.max_new_tokens, "max_steps": 10**6, "max_seconds": None,
                 "seed": seed, "save_steps": 10**9, "resume": "never", "logging_steps": 5,
                 "report_to": ["tensorboard"], "disable_tqdm": True, "cpu_threads": cfg.cpu_threads})
    return from_dict(GRPOStageConfig, data, where=f"arm {arm.name}")


def count_rollouts(run_dir: Path, num_generations: int) -> int:
    """Completions generated: pages per rollout batch (rollouts.jsonl) × completions per page."""
    log = run_dir / "rollouts.jsonl"
    if not log.is_file():
        return 0
    return sum(len(json.loads(line)["ids"]) for line in log.read_text().splitlines() if line.strip()) * num_generations


def run_arm(cfg: BenchMethodsConfig, arm: ArmConfig, *, seed: int, sft_final: Path, sft_end_lr: float,
            data_dir: Path, run_dir: Path, evaluate) -> dict:
    """Train one arm; returns (and writes) {"arm", "seed", "steps", "rollouts", "seconds", "curve", "final"}."""
    done = run_dir / "result.json"
    if done.is_file():
        return json.loads(done.read_text())
    shutil.rmtree(run_dir, ignore_errors=True)
    tracker = BudgetAndCurve(cfg.arm_seconds, cfg.eval_every_seconds, evaluate)
    began = time.perf_counter()
    rollouts = 0
    try:
        if arm.kind == "sft":
            from firered_ocr.demo import run_sft_stage

            # seconds=1e9: the tracker stops it; any budget also turns off SFT's own validation passes
            lr = arm.sft_lr if arm.sft_lr is not None else sft_end_lr
            run_sft_stage(_Seeded(cfg, seed), sft_final, data_dir, run_dir, steps=10**6, lr=lr, warmup=0,
                          scheduler="constant", batch=cfg.sft_batch, seconds=1e9, callbacks=[tracker])
        else:
            from firered_ocr.training.grpo import run_grpo

            grpo_cfg = grpo_config(cfg, arm, sft_final, data_dir, run_dir, seed)
            run_grpo(grpo_cfg, callbacks=[tracker])
            rollouts = count_rollouts(run_dir, grpo_cfg.num_generations)
    except ConfigError as exc:  # an arm naming a key this version lacks: reported, the bench goes on
        return {"arm": arm.name, "seed": seed, "error": str(exc)}
    result = {"arm": arm.name, "label": arm.label, "seed": seed, "steps": tracker.steps, "rollouts": rollouts,
              "seconds": round(tracker.seconds, 1), "wall_seconds": round(time.perf_counter() - began, 1),
              "curve": tracker.curve, "final": tracker.curve[-1] if tracker.curve else {}}
    run_dir.mkdir(parents=True, exist_ok=True)
    done.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for heavy in run_dir.glob("checkpoint-*"):  # the bench keeps numbers and curves, not every arm's weights
        shutil.rmtree(heavy, ignore_errors=True)
    for heavy in run_dir.glob("**/*.safetensors"):
        heavy.unlink()
    return result


class _Seeded:
    """What demo.run_sft_stage reads from its config (seed, generation length, threads)."""

    def __init__(self, cfg: BenchMethodsConfig, seed: int) -> None:
        self.seed, self.max_new_tokens, self.cpu_threads = seed, cfg.max_new_tokens, cfg.cpu_threads
