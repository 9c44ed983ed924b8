"""Every recipe in configs/ loads as typed configs, and its `sft:` section trains two steps on the tiny model (the first has lr 0 under warmup)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from firered_ocr.config_io import load_config
from firered_ocr.training.sft import SFTConfig, run_sft

REPO = Path(__file__).resolve().parents[2]
# configs/bench_*.yaml are `bench_methods:` configs, not training recipes (tests/bench checks them); the
# method recipes (tiny_cpu_maxrl.yaml, ...) have a grpo: section only.
ALL_RECIPES = sorted(p for p in (REPO / "configs").glob("*.yaml") if not p.name.startswith("bench_"))
RECIPES = [p for p in ALL_RECIPES if "sft" in (yaml.safe_load(p.read_text()) or {})]
ACCELERATE = sorted((REPO / "configs" / "accelerate").glob("*.yaml"))


def test_the_recipes_exist():
    names = {p.name for p in RECIPES}
    assert {"tiny_cpu.yaml", "qwen3vl_2b_full.yaml", "qwen3vl_2b_lora.yaml"} <= names
    assert {"ddp.yaml", "deepspeed_zero2.yaml", "deepspeed_zero3.yaml"} <= {p.name for p in ACCELERATE}
    for recipe in ALL_RECIPES:
        sections = yaml.safe_load(recipe.read_text())
        assert sections and set(sections) <= {"sft", "grpo"}, recipe.name


@pytest.mark.parametrize("path", ACCELERATE, ids=lambda p: p.name)
def test_accelerate_configs_parse(path):
    from accelerate.commands.config.config_args import load_config_from_file

    cfg = load_config_from_file(str(path))
    if "deepspeed" in path.name:
        assert cfg.distributed_type.value == "DEEPSPEED"
        assert cfg.deepspeed_config["zero_stage"] == int(path.stem[-1])
    else:
        assert cfg.distributed_type.value == "MULTI_GPU"


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_sft_section_trains(recipe, tmp_path, tiny_model_dir, tiny_dataset_dir):
    from transformers import AutoModelForImageTextToText

    # The recipe as written, with only what cannot run here substituted: the model, the data, the length
    # of the run, GPU-only switches; LoRA, gradient checkpointing, image resizing, caps stay the recipe's.
    overrides = [f"model.model={tiny_model_dir}", "model.attn_implementation=null", f"data.path={tiny_dataset_dir}",
                 f"output_dir={tmp_path / 'out'}", "optim.max_steps=2", "optim.per_device_batch_size=2",
                 "optim.gradient_accumulation_steps=1", "optim.bf16=false", "validation.n_pages=0",
                 "report_to=[]", "dataloader_num_workers=0", "deepspeed=null", "cpu_threads=1"]
    cfg = load_config(SFTConfig, recipe, overrides, section="sft")
    summary = run_sft(cfg, log=lambda *_: None)
    assert summary["global_step"] == 2 and summary["train_loss"] > 0
    model = AutoModelForImageTextToText.from_pretrained(summary["final_dir"])  # LoRA recipes: merged
    assert not hasattr(model, "peft_config")
    # one optimizer step reached the weights (for LoRA: through the adapters, with gradient checkpointing on)
    base = dict(AutoModelForImageTextToText.from_pretrained(str(tiny_model_dir)).named_parameters())
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, base[n])}
    assert any("language_model" in n and "q_proj" in n for n in changed), sorted(changed)[:5]
    if cfg.lora.enabled:
        assert not any("visual" in n for n in changed)  # the vision tower stays frozen under LoRA
