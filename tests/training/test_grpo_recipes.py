"""Every recipe's `grpo:` section loads and trains two steps, with the tiny checkpoint and dataset substituted;
the CLI parses recipes and overrides; the time budget stops a run and still writes a checkpoint."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytest.importorskip("trl")

from grpo_support import FAKE_REGISTRY, small_cfg  # noqa: E402

from firered_ocr.config_io import ConfigError  # noqa: E402
from firered_ocr.training.grpo import load_grpo_config, run_grpo  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted(p for p in (REPO / "configs").glob("*.yaml")
                 if "grpo" in (yaml.safe_load(p.read_text()) or {}))

# What a 2-core CPU cannot run is replaced; everything else (loss, rewards, learning rate and schedule, LoRA,
# off-policy switches) is the recipe's own. Two steps, not one: a recipe with a warmup trains at lr 0 on its
# first step (the linear warmup starts from 0), so its warmup is cut to one step (see _warmup_override) and the
# second step runs at the recipe's learning rate.
CPU_SUBSTITUTES = ["num_generations=2", "per_device_train_batch_size=4", "gradient_accumulation_steps=1",
                   "max_completion_length=8", "max_steps=2", "use_vllm=false", "bf16=false",
                   "gradient_checkpointing=false", "deepspeed=null", "attn_implementation=null",
                   "report_to=[]", "logging_steps=1", "save_steps=1000", "samples_per_log=0", "write_plots=false",
                   "disable_tqdm=true", "resume=never", "cpu_threads=1", "data.image_max_side=null", "data.max_pages=2"]


def test_there_are_grpo_recipes():
    assert {p.name for p in RECIPES} >= {"tiny_cpu.yaml", "qwen3vl_2b_full.yaml", "qwen3vl_2b_lora.yaml"}


def _warmup_override(recipe: Path) -> list[str]:
    warmup = (yaml.safe_load(recipe.read_text())["grpo"] or {}).get("warmup_steps", 0)
    return ["warmup_steps=1"] if warmup else []


def _tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return {k: v for f in sorted(folder.glob("*.safetensors")) for k, v in load_file(str(f)).items()}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_grpo_section_trains_on_the_tiny_checkpoint(recipe, tiny_model_dir, tiny_dataset_dir, tmp_path):
    """The recipe's step really trains: the weights move and every reward it configures logs a finite mean."""
    import math

    import torch

    cfg = load_grpo_config(recipe, [f"model={tiny_model_dir}", f"data.path={tiny_dataset_dir}",
                                    f"output_dir={tmp_path / 'out'}", *CPU_SUBSTITUTES, *_warmup_override(recipe)])
    final = run_grpo(cfg)
    state = json.loads((tmp_path / "out" / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    if cfg.lora.enabled:
        adapter = json.loads((final / "adapter_config.json").read_text())
        assert adapter["r"] == cfg.lora.r
        lora_b = {k: v for k, v in _tensors(final).items() if "lora_B" in k}
        assert lora_b and all(v.abs().sum() > 0 for v in lora_b.values())  # B starts at 0: it moved
    rows = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss" in r] == [1, 2]
    if not cfg.lora.enabled:
        before, after = _tensors(tiny_model_dir), _tensors(final)
        changed = [k for k in before if not torch.equal(before[k], after[k])]
        if all(r.get("maxrl/success_rate", 1.0) == 0.0 for r in rows if "reward" in r):
            # MaxRL's advantage is (r - mean) / mean on a success event: a random checkpoint never succeeds,
            # so every advantage is 0 and the step must leave the weights exactly as they were.
            assert changed == []
        else:
            assert len(changed) > len(before) // 2, f"{len(changed)} of {len(before)} weight tensors changed"
    steps = [r for r in rows if "reward" in r]  # rollout steps (num_iterations 2 reuses a rollout: no new rewards)
    assert steps and steps[0]["step"] == 1
    configured = [name for name, weight in cfg.rewards.items() if weight > 0]
    for row in steps:
        for name in configured:
            value = row.get(f"rewards/{name}/mean")
            assert isinstance(value, float) and math.isfinite(value), (row["step"], name, value)
        assert math.isfinite(row["reward"]) and math.isfinite(row["loss"])


def test_unknown_keys_and_rewards_are_errors_that_name_them(tmp_path, tiny_model_dir, tiny_dataset_dir):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"grpo": {"num_generation": 4}}))
    with pytest.raises(ConfigError, match="num_generation"):
        load_grpo_config(recipe)
    from firered_ocr.training.reward_wiring import RewardConfigError, build_reward_funcs

    with pytest.raises(RewardConfigError, match="rewards.tedz"):
        build_reward_funcs({"tedz": 1.0})
    with pytest.raises(RewardConfigError, match="rewards.teds"):
        build_reward_funcs({"teds": -1.0})


def test_cli_prints_the_resolved_config_with_overrides(tmp_path, capsys):
    from firered_ocr.cli import main

    recipe = REPO / "configs" / "qwen3vl_2b_full.yaml"
    assert main(["grpo", "--config", str(recipe), "--print-config", "nll_weight=0.25", "rewards.teds=3"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)["grpo"]
    assert printed["nll_weight"] == 0.25 and printed["rewards"]["teds"] == 3.0
    assert printed["loss_type"] == "bnpo"
    assert main(["grpo", "--config", str(recipe), "--print-config", "no_such_key=1"]) == 2


def test_vllm_without_vllm_installed_is_a_clear_error():
    import importlib.util

    from firered_ocr.training.grpo import GRPOConfigError, GRPOStageConfig, build_grpo_args

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    with pytest.raises(GRPOConfigError, match="use_vllm"):
        build_grpo_args(GRPOStageConfig(use_vllm=True), [1.0])


def test_reward_wiring_never_raises_and_reads_chat_completions():
    from firered_ocr.training.reward_wiring import build_reward_funcs

    def broken(texts, gts):
        raise RuntimeError("boom")

    funcs, weights = build_reward_funcs({"ok": 2.0, "broken": 1.0, "off": 0.0},
                                        funcs={"ok": FAKE_REGISTRY["exact"], "broken": broken, "off": broken})
    assert [f.__name__ for f in funcs] == ["ok", "broken"] and weights == [2.0, 1.0]
    completions = [[{"role": "assistant", "content": "12"}], [{"role": "assistant", "content": "7"}]]
    assert funcs[0](prompts=None, completions=completions, ground_truth=["12", "8"]) == [1.0, 0.0]
    assert funcs[1](prompts=None, completions=completions, ground_truth=["12", "8"]) == [None, None]


def test_max_seconds_stops_after_the_budget_with_a_checkpoint(tiny_model_dir, tiny_dataset_dir, tmp_path):
    out = tmp_path / "out"
    cfg = small_cfg(tiny_model_dir, tiny_dataset_dir, out, max_steps=500, max_seconds=0.0, write_plots=False)
    final = run_grpo(cfg, reward_registry=FAKE_REGISTRY)
    state = json.loads((out / "checkpoint-1" / "trainer_state.json").read_text())
    assert state["global_step"] == 1  # the budget is checked after each step: one step, then stop and save
    assert (final / "config.json").is_file()


def test_completions_cut_by_the_token_budget_score_as_truncated():
    """TRL passes completion_ids: one that reaches max_completion_length was cut, even if its text looks whole."""
    from firered_ocr.training.reward_wiring import build_reward_funcs

    funcs, _ = build_reward_funcs({"no_truncation": 1.0, "total": 1.0}, max_completion_length=4)
    page = "<table><tr><td>1</td></tr></table>"
    completions = [[{"role": "assistant", "content": page}]] * 2
    ids = [[1, 2, 3], [1, 2, 3, 4]]  # the second used the whole budget
    no_trunc, total = (f(prompts=None, completions=completions, completion_ids=ids, ground_truth=[page, page])
                       for f in funcs)
    assert no_trunc == [1.0, 0.0]
    assert total[0] == 1.0 and total[1] < 1.0
    # Without a budget (or without ids) the text decides, as before.
    plain, _ = build_reward_funcs({"no_truncation": 1.0, "total": 1.0})
    assert plain[0](prompts=None, completions=completions, completion_ids=ids, ground_truth=[page, page]) == [1.0, 1.0]


def test_a_time_budget_shows_its_own_progress_bar(tiny_model_dir, tiny_dataset_dir, tmp_path):
    """Under max_seconds the step bar's total is a placeholder, so it is replaced by a bar over the budget."""
    from transformers.trainer_callback import ProgressCallback

    from firered_ocr.training.grpo import build_trainer
    from firered_ocr.training.sft import TimeBudget

    def kinds(trainer):
        return {type(cb) for cb in trainer.callback_handler.callbacks}

    timed, _ = build_trainer(small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path / "a", max_seconds=30.0,
                                       disable_tqdm=False), reward_registry=FAKE_REGISTRY)
    assert TimeBudget in kinds(timed) and ProgressCallback not in kinds(timed)
    stepped, _ = build_trainer(small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path / "b", disable_tqdm=False),
                               reward_registry=FAKE_REGISTRY)
    assert ProgressCallback in kinds(stepped) and TimeBudget not in kinds(stepped)
