"""The Qwen3-VL-2B shape: its published numbers, and what the 2B recipes rely on, checked on the same
structure with narrow widths (28 text layers, 24 vision layers, deepstack [5, 11, 17], M-RoPE [24, 20, 20],
head_dim 128, 151,936 tied embedding rows, the hub processor's pixel limits)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from firered_ocr.model_shapes import QWEN3_VL_2B, QWEN3_VL_2B_NARROW, shape_config
from firered_ocr.training.memory_estimate import lora_parameters, parameter_groups, trainable_groups

REPO = Path(__file__).resolve().parents[2]
LORA_RECIPE = yaml.safe_load((REPO / "configs" / "qwen3vl_2b_lora.yaml").read_text())

# Qwen/Qwen3-VL-2B-Instruct's config.json and preprocessor_config.json (sources: firered_ocr/model_shapes.py).
PUBLISHED = dict(text_hidden=2048, text_layers=28, text_heads=16, text_kv_heads=8, text_head_dim=128,
                 text_intermediate=6144, embedding_rows=151936, rope_theta=5000000.0, max_positions=262144,
                 mrope_section=[24, 20, 20], tie_word_embeddings=True, vision_depth=24, vision_hidden=1024,
                 vision_intermediate=4096, vision_heads=16, patch_size=16, merge_size=2, temporal_patch_size=2,
                 vision_positions=2304, deepstack_indexes=[5, 11, 17], min_image_tokens=64,
                 max_image_tokens=16384)


def test_the_2b_shape_is_the_published_one_and_the_narrow_one_keeps_its_structure():
    assert {k: getattr(QWEN3_VL_2B, k) for k in PUBLISHED} == PUBLISHED
    structure = ["text_layers", "text_head_dim", "embedding_rows", "mrope_section", "tie_word_embeddings",
                 "vision_depth", "patch_size", "merge_size", "vision_positions", "deepstack_indexes",
                 "min_image_tokens", "max_image_tokens", "rope_theta"]
    assert all(getattr(QWEN3_VL_2B_NARROW, k) == PUBLISHED[k] for k in structure)
    assert shape_config("qwen3-vl-2b") is QWEN3_VL_2B
    with pytest.raises(ValueError, match="unknown shape 'qwen3-vl-7b'"):
        shape_config("qwen3-vl-7b")


def test_parameter_count_of_the_2b_shape_matches_the_hand_count():
    groups = parameter_groups(QWEN3_VL_2B)
    assert groups["text_embedding"] == 151936 * 2048 == 311_164_928
    # per layer: q 2048x2048, k and v 2048x1024, o 2048x2048, q_norm and k_norm 128 each
    assert groups["text_attention"] == 28 * (4_194_304 + 2 * 2_097_152 + 4_194_304 + 256) == 352_328_704
    assert groups["text_mlp"] == 28 * 3 * 2048 * 6144 == 1_056_964_608
    assert groups["lm_head"] == 0  # tied to the embedding
    # per vision block: 2 LayerNorms, qkv 1024->3072, proj, fc1 1024->4096, fc2, all with biases
    assert groups["vision_blocks"] == 24 * (4096 + 3_148_800 + 1_049_600 + 4_198_400 + 4_195_328) == 302_309_376
    # the merger and the three deepstack mergers: 4096 -> 4096 -> 2048 each, LayerNorm of 1024 or 4096
    assert groups["vision_mergers"] == 25_174_016 + 3 * 25_180_160 == 100_714_496
    assert sum(groups.values()) == 2_127_532_032


def test_narrow_checkpoint_builds_the_2b_structure(narrow_2b_dir):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(narrow_2b_dir)
    processor = AutoProcessor.from_pretrained(narrow_2b_dir)
    text, vision = model.config.text_config, model.config.vision_config
    assert len(model.model.language_model.layers) == 28 and len(model.model.visual.blocks) == 24
    assert vision.deepstack_visual_indexes == [5, 11, 17] and len(model.model.visual.deepstack_merger_list) == 3
    assert sum(text.rope_parameters["mrope_section"]) == text.head_dim // 2 == 64
    assert model.get_input_embeddings().weight.shape[0] == 151936
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()  # tied
    assert model.config.image_token_id == processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    # the analytic count (used by the memory estimate) is the built model's, group by group
    built = {g: c["trainable"] + c["frozen"] for g, c in trainable_groups(model).items()}
    expected = {g: n for g, n in parameter_groups(QWEN3_VL_2B_NARROW).items() if n}
    assert built == expected


@pytest.mark.parametrize("page, tokens", [((1190, 1684), 1120),  # A4 rendered at 144 dpi -> 910 x 1288
                                          ((1224, 1584), 1240),  # US letter at 144 dpi -> 995 x 1288
                                          ((100, 100), 64)])  # upscaled to the hub minimum, 256 x 256
def test_vision_tokens_of_a_page_at_the_recipes_1288_px(narrow_2b_dir, page, tokens):
    from PIL import Image
    from transformers import AutoProcessor

    from firered_ocr.training.data import _shrink

    processor = AutoProcessor.from_pretrained(narrow_2b_dir)
    assert processor.image_processor.size == {"shortest_edge": 65536, "longest_edge": 16777216}
    side = LORA_RECIPE["sft"]["data"]["image_max_side"]
    assert side == 1288
    image = _shrink({"image": Image.new("RGB", page, "white")}, max_side=side)["image"]
    grid = processor.image_processor(images=[image], return_tensors="pt")["image_grid_thw"][0]
    assert int(grid.prod()) // 4 == tokens


def _batch(processor, side=256):
    from PIL import Image

    from firered_ocr.prompts import build_messages

    prompt = processor.apply_chat_template(build_messages(), tokenize=False, add_generation_prompt=True)
    inputs = processor(text=[prompt + "<table><tr><td>12</td></tr></table><|im_end|>"],
                       images=[Image.new("RGB", (side, side), "white")], return_tensors="pt")
    inputs["labels"] = inputs["input_ids"].clone()
    return inputs


def _nonzero_grad(model, fragment: str) -> bool:
    grads = [p.grad for n, p in model.named_parameters() if fragment in n and p.grad is not None]
    return bool(grads) and any(g.abs().sum() > 0 for g in grads)


@pytest.mark.slow
def test_gradient_checkpointing_reaches_every_deepstack_merger_and_the_vision_tower(narrow_2b_dir):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(narrow_2b_dir)
    processor = AutoProcessor.from_pretrained(narrow_2b_dir)
    model.activation_checkpointing_enable()  # what Trainer calls for `gradient_checkpointing: true`
    model.config.use_cache = False
    model.train()
    model(**_batch(processor)).loss.backward()
    for part in ["visual.blocks.0.", "visual.blocks.17.", "visual.merger.", "deepstack_merger_list.0.",
                 "deepstack_merger_list.1.", "deepstack_merger_list.2.", "language_model.layers.0.",
                 "language_model.layers.27.", "embed_tokens"]:
        assert _nonzero_grad(model, part), part
    # blocks after the last deepstack index feed only the final merger; they still learn through it
    assert _nonzero_grad(model, "visual.blocks.23.")


@pytest.mark.slow
def test_the_lora_recipe_targets_only_language_model_projections_and_keeps_embeddings_tied(narrow_2b_dir,
                                                                                           tmp_path):
    from peft import get_peft_model
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from firered_ocr.training.lora import LoraSettings

    for stage in ("sft", "grpo"):
        lora = LORA_RECIPE[stage]["lora"]
        settings = LoraSettings(enabled=True, r=lora["r"], alpha=lora["alpha"], dropout=lora["dropout"],
                                target_modules=lora["target_modules"])
        model = get_peft_model(AutoModelForImageTextToText.from_pretrained(narrow_2b_dir), settings.peft_config())
        adapted = [n.removesuffix(".lora_A") for n, _ in model.named_modules() if n.endswith(".lora_A")]
        assert not [n for n in adapted if ".visual." in n]
        for target in lora["target_modules"]:
            assert sum(n.endswith("." + target) for n in adapted) == 28, target
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        # per layer r * (in + out): q 32*(64+256), k and v 32*(64+128), o 32*(256+64), gate/up/down 32*(64+96)
        assert trainable == lora_parameters(QWEN3_VL_2B_NARROW, 32, lora["target_modules"]) \
            == 28 * (10240 + 2 * 6144 + 10240 + 3 * 5120) == 1_347_584
        base = model.get_base_model()
        assert base.lm_head.weight.data_ptr() == base.get_input_embeddings().weight.data_ptr()
        assert not base.lm_head.weight.requires_grad

    # gradient checkpointing under LoRA (the recipe's setting) still trains the first and last layers
    processor = AutoProcessor.from_pretrained(narrow_2b_dir)
    model.activation_checkpointing_enable()  # as Trainer calls it on the peft model (reaches the base model)
    model.train()
    model(**_batch(processor)).loss.backward()
    assert _nonzero_grad(model, "layers.0.self_attn.q_proj.lora_B") and _nonzero_grad(model, "layers.27.mlp.down_proj.lora_B")
    # merged and reloaded (sft's `merge_final`): still tied, with the adapter folded into q_proj
    merged = model.merge_and_unload()
    merged.save_pretrained(tmp_path / "merged")
    reloaded = AutoModelForImageTextToText.from_pretrained(tmp_path / "merged")
    assert reloaded.lm_head.weight.data_ptr() == reloaded.get_input_embeddings().weight.data_ptr()
    plain = AutoModelForImageTextToText.from_pretrained(narrow_2b_dir)
    q = "model.language_model.layers.0.self_attn.q_proj.weight"
    assert torch.equal(dict(reloaded.named_parameters())[q], dict(merged.named_parameters())[q])
    assert torch.equal(dict(plain.named_parameters())[q], dict(reloaded.named_parameters())[q])  # lora_B is 0 at init


def test_make_tiny_model_names_its_shapes(capsys):
    from firered_ocr.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["make-tiny-model", "unused", "--shape", "qwen3-vl-7b"])
    assert exc.value.code == 2 and "qwen3-vl-2b" in capsys.readouterr().err


def test_a_given_tokenizer_file_replaces_the_trained_one_and_sets_the_token_ids(tmp_path, capsys):
    from transformers import AutoConfig, AutoTokenizer

    from firered_ocr.cli import main
    from firered_ocr.tiny_tokenizer import train_tokenizer

    given = train_tokenizer(vocab_size=600, seed=5)  # differs from the default (1024 merges, seed 0)
    given.save(str(tmp_path / "tokenizer.json"))
    assert main(["make-tiny-model", str(tmp_path / "m"), "--tokenizer", str(tmp_path / "tokenizer.json")]) == 0
    tok = AutoTokenizer.from_pretrained(tmp_path / "m")
    assert tok.get_vocab() == given.get_vocab(with_added_tokens=True)
    assert AutoConfig.from_pretrained(tmp_path / "m").image_token_id == given.token_to_id("<|image_pad|>")

    from tokenizers import Tokenizer, models

    Tokenizer(models.BPE()).save(str(tmp_path / "bare.json"))  # a file without Qwen's special tokens
    assert main(["make-tiny-model", str(tmp_path / "x"), "--tokenizer", str(tmp_path / "bare.json")]) == 2
    err = capsys.readouterr().err
    assert "bare.json" in err and "<|image_pad|>" in err
