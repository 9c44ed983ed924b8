"""Shared pieces of the GRPO tests: a small stage config on the tiny model, a deterministic reward registry,
and one rollout batch taken through the trainer's own generation path."""
from __future__ import annotations

import re
from pathlib import Path

from firered_ocr.training.data import DataConfig
from firered_ocr.training.grpo import GRPOStageConfig


def _digits(text: str | None) -> str:
    return "".join(re.findall(r"\d", text or ""))


def exact(texts, gts):
    return [float(t.strip() == (g or "").strip()) for t, g in zip(texts, gts)]


def digit_overlap(texts, gts):
    """A dense reward: 1 - |#digits(pred) - #digits(gt)| / 5, floored at 0 (varies across samples)."""
    return [max(0.0, 1.0 - abs(len(_digits(t)) - len(_digits(g))) / 5) for t, g in zip(texts, gts)]


def length_reward(texts, gts):
    """Distinct for almost every pair of random-model samples: a group of them is never all-equal."""
    return [len(t) / 100 for t in texts]


FAKE_REGISTRY = {"exact": exact, "digits": digit_overlap, "length": length_reward}


def small_cfg(model_dir: Path, data_dir: Path, out_dir: Path, **overrides) -> GRPOStageConfig:
    """2 pages x G=4 completions per step, 10-token completions: one step is a few seconds on 2 cores."""
    base = dict(model=str(model_dir), data=DataConfig(path=str(data_dir), max_pages=4), output_dir=str(out_dir),
                rewards={"exact": 1.0, "digits": 0.5}, num_generations=4, per_device_train_batch_size=8,
                max_completion_length=10, max_steps=1, learning_rate=1e-3, save_steps=1000, resume="never",
                report_to=[], disable_tqdm=True, samples_per_log=0, cpu_threads=1)
    base.update(overrides)
    return GRPOStageConfig(**base)


def first_rollout(trainer):
    """One generation batch (the dataloader's first), generated and scored as in training."""
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    batch = next(iter(trainer.get_train_dataloader()))
    return batch, trainer._generate_and_score_completions(batch)


def sigkill_grpo_run_after_checkpoint_2(recipe, out, repo) -> None:
    """Start `firered-ocr grpo` on `recipe` into `out` (told to run far past step 2, so it is surely still
    training when it dies), SIGKILL it once checkpoint-2 is complete, and drop any later checkpoint, so that a
    resume must start from checkpoint-2 and redo steps 3 and 4 whatever the machine's speed."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    import pytest

    proc = subprocess.Popen([sys.executable, "-m", "firered_ocr", "grpo", "--config", str(recipe),
                             f"output_dir={out}", "max_steps=1000"], cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    marker = out / "checkpoint-2" / "trainer_state.json"  # the checkpoint's last file
    deadline = time.monotonic() + 240
    while not marker.is_file():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before its first checkpoint: {proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no checkpoint-2 after 240 s")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    for later in out.glob("checkpoint-*"):
        if int(later.name.split("-")[1]) > 2:
            shutil.rmtree(later)


def per_token_logps(trainer, out):
    """The trainer's per-token log-probabilities of a rollout batch's completions, without gradients."""
    import torch

    with torch.no_grad():
        logps, _, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model, torch.cat([out["prompt_ids"], out["completion_ids"]], 1),
            torch.cat([out["prompt_mask"], out["completion_mask"]], 1), out["completion_ids"].size(1),
            pixel_values=out["pixel_values"], image_grid_thw=out["image_grid_thw"],
            num_images=out["num_images"], mm_token_type_ids=out["mm_token_type_ids"])
    return logps


def bare_trainer(**attrs):
    """A FireRedGRPOTrainer object without a model or TRL state, holding only the attributes a hook or
    per-row method reads (the hooks' and row-bookkeeping tests call methods on it directly)."""
    from firered_ocr.training.grpo_trainer import FireRedGRPOTrainer

    trainer = FireRedGRPOTrainer.__new__(FireRedGRPOTrainer)
    for name, value in attrs.items():
        setattr(trainer, name, value)
    return trainer
