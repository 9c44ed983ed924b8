"""The 2B LoRA recipe's `grpo:` section as two processes (torchrun, gloo), every off-policy switch on.

The recipe file itself goes through the CLI, as a user launches it on GPUs (`accelerate launch` sets up the
same DistributedDataParallel torchrun does here); only the model (the tiny checkpoint: the 2B shape is far too
slow for two processes on 2 cores), the data and what a CPU forces are substituted. Switches on: ground truth
in each group, the hybrid NLL term, zero-variance-group skipping, two updates per rollout (num_iterations),
rollouts spanning two steps (steps_per_generation), sequence-level importance sampling (GSPO), TRL's
off-policy mask and the learnability curriculum.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "configs" / "qwen3vl_2b_lora.yaml"
CPU_SUBSTITUTES = ["num_generations=2", "per_device_train_batch_size=2", "gradient_accumulation_steps=1",
                   "max_completion_length=6", "max_steps=2", "bf16=false", "report_to=[]", "save_steps=1000",
                   "samples_per_log=0", "write_plots=false", "disable_tqdm=true", "resume=never", "cpu_threads=1",
                   "data.image_max_side=null", "data.max_pages=4"]
OFF_POLICY_SWITCHES = ["gt_in_group=true", "nll_weight=0.1", "skip_zero_variance_groups=true", "num_iterations=2",
                       "steps_per_generation=2", "importance_sampling_level=sequence", "curriculum.enabled=true",
                       "trl_args.off_policy_mask_threshold=0.5"]


@pytest.mark.slow
def test_lora_recipe_grpo_runs_as_two_processes_with_every_off_policy_switch(tiny_model_dir, scaling_dataset_dir,
                                                                               tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found"
    out = tmp_path / "grpo"
    cmd = [torchrun, "--nproc_per_node", "2", "-m", "firered_ocr.cli", "grpo", "--config", str(RECIPE),
           f"model={tiny_model_dir}", f"data.path={scaling_dataset_dir}", f"output_dir={out}",
           *CPU_SUBSTITUTES, *OFF_POLICY_SWITCHES]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-4000:]

    resolved = json.loads((out / "final" / "grpo_stage_config.json").read_text())
    for switch in OFF_POLICY_SWITCHES:  # the recipe plus the switches is what ran
        key, value = switch.split("=")
        node = resolved
        for part in key.split("."):
            node = node[part]
        assert str(node).lower() == value, switch
    assert resolved["loss_type"] == "bnpo" and resolved["lora"]["r"] == 32  # the recipe's own
    adapter = json.loads((out / "final" / "adapter_config.json").read_text())
    assert adapter["r"] == 32 and adapter["lora_alpha"] == 32
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    # 2 steps per rollout (steps_per_generation) used twice (num_iterations): one rollout batch serves both
    # steps, so rank 0 logged a single rollout of 2 pages (one per rank's pair of completions... x 2 ranks)
    rollouts = [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines() if line.strip()]
    assert len(rollouts) == 1, rollouts
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    logged = [r for r in rows if "loss" in r]
    assert [r["step"] for r in logged] == [1, 2]
