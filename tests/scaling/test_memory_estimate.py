"""The per-GPU memory estimate, checked line by line against numbers computed by hand for Qwen3-VL-2B
(P = 2,127,532,032 parameters; LoRA r=32 on the 7 projections: T = 34,865,152)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from firered_ocr.model_shapes import QWEN3_VL_2B
from firered_ocr.training.memory_estimate import (CPU, GIB, Workload, activation_bytes, estimate, lora_parameters,
                                                  model_state_bytes, workload_from_recipe)

REPO = Path(__file__).resolve().parents[2]
P = 2_127_532_032
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
T = 34_865_152


def test_lora_parameters_by_hand():
    # per layer r * (in + out): q, o 32 * 4096; k, v 32 * 3072; gate, up, down 32 * 8192
    assert lora_parameters(QWEN3_VL_2B, 32, TARGETS) == 28 * (2 * 131_072 + 2 * 98_304 + 3 * 262_144) == T
    with pytest.raises(ValueError, match="qkv"):
        lora_parameters(QWEN3_VL_2B, 32, ["qkv"])


def test_model_states_per_launcher_by_hand():
    lora = Workload(stage="sft", lora_rank=32, lora_targets=TARGETS)
    assert model_state_bytes(QWEN3_VL_2B, lora, "ddp", 8) == {
        "weights": 4 * (P + T), "gradients": 8 * T, "optimizer": 8 * T, "autocast_cache": 2 * T}
    full = Workload(stage="sft")
    assert model_state_bytes(QWEN3_VL_2B, full, "zero2", 8) == {
        "weights": 4_255_064_064, "gradients": 531_883_008, "optimizer": 3_191_298_048, "autocast_cache": 0}
    # ZeRO-3 shards the weights too, but gathers the largest module (the 151,936 x 2048 embedding) whole
    assert model_state_bytes(QWEN3_VL_2B, full, "zero3", 4)["weights"] == 1_063_766_016 + 622_329_856
    # GRPO loads the model in bf16 under DDP: weights, gradients, buckets and AdamW moments are all bf16
    assert model_state_bytes(QWEN3_VL_2B, Workload(stage="grpo"), "ddp", 2) == {
        "weights": 2 * P, "gradients": 4 * P, "optimizer": 4 * P, "autocast_cache": 0}
    with pytest.raises(ValueError, match="zero4"):
        model_state_bytes(QWEN3_VL_2B, full, "zero4", 2)


def test_full_fine_tuning_in_fp32_cannot_fit_this_24_gib_machine():
    states = model_state_bytes(QWEN3_VL_2B, Workload(stage="sft"), CPU, 1)
    assert sum(states.values()) == 16 * P == 34_040_512_512  # 31.7 GiB before a single activation
    assert sum(states.values()) / GIB > 24


def test_activations_of_one_8192_token_page_by_hand():
    w = Workload(stage="sft", tokens=8192, image_tokens=1240)
    acts = activation_bytes(QWEN3_VL_2B, w, "ddp")
    assert acts["text_checkpoints"] == 28 * 8192 * 2048 * 4 == 1_879_048_192
    assert acts["recomputed_layer"] == 8192 * (2 * 2048 + 2048 + 2 * 1024 + 2048 + 3 * 6144) * 2 == 469_762_048
    assert acts["logits_and_loss"] == 8192 * 151_936 * (2 + 4 + 4) == 12_446_597_120
    # 1240 merged tokens = 4960 patches through 24 layers of 1024
    assert acts["vision_tower"] == 24 * 4960 * 1024 * 4 + 4960 * (6 * 1024 + 2 * 4096) * 2 == 629_800_960
    assert acts["rollout_kv_cache"] == 0
    lora = activation_bytes(QWEN3_VL_2B, Workload(stage="sft", lora_rank=32, lora_targets=TARGETS), "ddp")
    assert lora["vision_tower"] == 0  # frozen under LoRA: nothing kept for backward
    total = estimate(QWEN3_VL_2B, w, "ddp", 1)["total"]
    assert total == pytest.approx(sum(model_state_bytes(QWEN3_VL_2B, w, "ddp", 1).values()) + sum(acts.values()))


def test_workloads_come_from_the_recipes():
    full = yaml.safe_load((REPO / "configs" / "qwen3vl_2b_full.yaml").read_text())
    lora = yaml.safe_load((REPO / "configs" / "qwen3vl_2b_lora.yaml").read_text())
    assert workload_from_recipe(full, "sft") == Workload(stage="sft", lora_rank=None, lora_targets=TARGETS,
                                                         sequences=4, tokens=8192, image_tokens=1240)
    g = workload_from_recipe(lora, "grpo", image_tokens=1120)
    assert (g.lora_rank, g.sequences, g.tokens, g.completion_tokens) == (32, 8, 1120 + 32 + 3000, 3000)
    with pytest.raises(ValueError, match="no `grpo:` section"):
        workload_from_recipe({"sft": {}}, "grpo")


def test_cli_prints_every_launcher_and_gpu_count(capsys, tmp_path):
    from firered_ocr.cli import main

    assert main(["memory-estimate", "--config", str(REPO / "configs" / "qwen3vl_2b_full.yaml")]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["ddp"], ["zero2"], ["zero3"])]
    assert [(r[0], r[1]) for r in rows] == [(s, n) for s in ("ddp", "zero2", "zero3") for n in ("1", "2", "4", "8")]
    assert "full fine-tuning, 4 sequence(s) of 8192 tokens" in out
    missing = tmp_path / "nope.yaml"
    assert main(["memory-estimate", "--config", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err
