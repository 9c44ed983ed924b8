"""The tiny offline checkpoint: real Qwen3-VL classes, loadable through the Auto classes, reproducible."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys



def test_loads_with_auto_classes_offline(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir)
    assert type(model).__name__ == "Qwen3VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen3VLProcessor"
    assert type(processor.image_processor).__name__.startswith("Qwen2VLImageProcessor")
    tok = processor.tokenizer
    # The config's vision token ids are the tokenizer's (a mismatch silently breaks image features).
    assert model.config.image_token_id == tok.convert_tokens_to_ids("<|image_pad|>")
    assert model.config.vision_start_token_id == tok.convert_tokens_to_ids("<|vision_start|>")
    assert model.config.vision_config.out_hidden_size == model.config.text_config.hidden_size
    # Structure tokens are whole, digits are single tokens.
    ids = tok("<table><tr><td>123</td></tr></table>", add_special_tokens=False)["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["<table>", "<tr>", "<td>", "1", "2", "3", "</td>", "</tr>", "</table>"]
    assert tok.decode(ids) == "<table><tr><td>123</td></tr></table>"


def test_generates_from_an_image(tiny_model_dir):
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from firered_ocr.prompts import build_messages

    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir)
    text = processor.apply_chat_template(build_messages(), tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>")
    assert text.endswith("<|im_start|>assistant\n")
    image = Image.new("RGB", (192, 128), "white")
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    # 192x128 px at 32 px per merged token = 6 x 4 = 24 image tokens.
    n_image_tokens = int((inputs["input_ids"] == model.config.image_token_id).sum())
    assert n_image_tokens == 24
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_same_seed_same_files_different_seed_different_weights(tmp_path):
    cmd = [sys.executable, "-m", "firered_ocr", "make-tiny-model"]
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        subprocess.run(cmd + [str(tmp_path / name), "--seed", str(seed)], check=True, capture_output=True)
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert a == b
    assert {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json",
            "chat_template.jinja"} <= set(a)
    assert a["model.safetensors"] != c["model.safetensors"]
    meta = json.loads((tmp_path / "a" / "firered_tiny.json").read_text())
    assert 500_000 < meta["parameters"] < 2_000_000
