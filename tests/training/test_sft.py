"""SFT on the tiny model: the label mask, a few real steps, checkpoints that reload and predict, the CLI."""
from __future__ import annotations

import json

import pytest
import torch

from firered_ocr.config_io import load_config
from firered_ocr.model_loading import load_processor
from firered_ocr.training.data import DataConfig, load_chat_split
from firered_ocr.training.metrics_log import read_jsonl
from firered_ocr.training.checkpoints import resume_checkpoint
from firered_ocr.training.sft import SFTConfig, run_sft
from firered_ocr.training.sft_collator import IGNORE_INDEX, SFTCollator


def tiny_sft_config(out, model_dir, data_dir, *overrides: str) -> SFTConfig:
    base = [f"model.model={model_dir}", f"data.path={data_dir}", f"output_dir={out}", "cpu_threads=1",
            "optim.learning_rate=0.001", "optim.warmup_steps=2", "optim.max_steps=6",
            "optim.per_device_batch_size=4", "validation.n_pages=4", "validation.every_steps=3",
            "validation.max_new_tokens=12", "save_steps=3", "logging_steps=1", "report_to=[tensorboard]"]
    return load_config(SFTConfig, None, base + list(overrides))


def test_collator_masks_everything_but_the_answer(tiny_model_dir, tiny_dataset_dir):
    processor = load_processor(str(tiny_model_dir))
    rows = load_chat_split(DataConfig(path=str(tiny_dataset_dir)), "train")
    batch_rows = [rows[0], rows[1], rows[2]]
    collator = SFTCollator(processor)
    batch = collator(batch_rows)
    tok = processor.tokenizer
    image_id = tok.convert_tokens_to_ids("<|image_pad|>")
    merge = processor.image_processor.merge_size
    for i, row in enumerate(batch_rows):
        ids, labels = batch["input_ids"][i], batch["labels"][i]
        answer = labels[labels != IGNORE_INDEX].tolist()
        # exactly the ground truth and the end-of-turn token carry loss
        assert tok.decode(answer) == row["ground_truth"] + "<|im_end|>"
        n_real = int(batch["attention_mask"][i].sum())
        assert ids[n_real - len(answer):n_real].tolist() == answer  # the answer ends the real tokens
        assert (labels[n_real:] == IGNORE_INDEX).all() and (batch["attention_mask"][i][n_real:] == 0).all()
        # image tokens: as many as the grid says, flagged 1 in mm_token_type_ids and nowhere else
        n_image = int(batch["image_grid_thw"][i].prod()) // merge ** 2
        assert int((ids == image_id).sum()) == n_image
        assert batch["mm_token_type_ids"][i].tolist() == (ids == image_id).long().tolist()
    assert batch["pixel_values"].shape[0] == int(batch["image_grid_thw"].prod(dim=1).sum())


def test_collator_cuts_long_answers_and_refuses_unlabelled(tiny_model_dir, tiny_dataset_dir):
    processor = load_processor(str(tiny_model_dir))
    rows = load_chat_split(DataConfig(path=str(tiny_dataset_dir), labelled_only=False), "train")
    full = SFTCollator(processor)([rows[0]])
    n_prompt = int((full["labels"][0] == IGNORE_INDEX).sum())
    with pytest.warns(UserWarning, match="max_length"):
        cut = SFTCollator(processor, max_length=n_prompt + 3)([rows[0]])
    assert cut["input_ids"].shape[1] == n_prompt + 3 and int((cut["labels"] != IGNORE_INDEX).sum()) == 3
    with pytest.raises(ValueError, match="no ground truth"):
        SFTCollator(processor)([rows[len(rows) - 1]])


def test_sft_trains_saves_reloads_and_predicts(tmp_path, tiny_model_dir, tiny_dataset_dir):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from firered_ocr.predict import GenerationConfig, Predictor

    out = tmp_path / "sft"
    initial = AutoModelForImageTextToText.from_pretrained(str(tiny_model_dir))
    summary = run_sft(tiny_sft_config(out, tiny_model_dir, tiny_dataset_dir), log=lambda *_: None)
    assert summary["global_step"] == 6
    rows = read_jsonl(out / "metrics.jsonl")
    losses = [r["loss"] for r in rows if "loss" in r]
    assert len(losses) == 6 and losses[-1] < losses[0] - 0.5  # lr 1e-3 moves a random model fast
    lrs = [r["learning_rate"] for r in rows if "learning_rate" in r]
    assert lrs[0] == 0.0 and max(lrs) == pytest.approx(1e-3) and lrs[-1] < max(lrs)  # warmup, then cosine
    val = [r for r in rows if "val/hallucination_rate" in r]
    assert [r["step"] for r in val] == [3, 6]
    assert {"val/total", "val/exact_match", "val/rate/unclosed_table", "val/teds"} <= set(val[0])
    samples = read_jsonl(out / "samples.jsonl")
    assert len(samples) == 8 and {"id", "prediction", "ground_truth", "total", "findings"} <= set(samples[0])
    assert (out / "curves.png").stat().st_size > 5000
    assert list((out / "runs").rglob("events.out.tfevents*"))  # TensorBoard
    for ckpt in (out / "checkpoint-3", out / "checkpoint-6", out / "final"):
        assert (ckpt / "model.safetensors").is_file() and (ckpt / "tokenizer.json").is_file(), ckpt
    assert resume_checkpoint(out, "auto").endswith("checkpoint-6")
    # the final checkpoint loads with the Auto classes, differs from the start, and predicts
    model = AutoModelForImageTextToText.from_pretrained(str(out / "final"))
    processor = AutoProcessor.from_pretrained(str(out / "final"))
    changed = [n for n, p in model.named_parameters()
               if not torch.equal(p, dict(initial.named_parameters())[n])]
    assert any("visual" in n for n in changed) and any("language_model" in n for n in changed)
    images = [r["image"] for r in load_chat_split(DataConfig(path=str(tiny_dataset_dir)), "validation")]
    gens = Predictor(model, processor).generate(images[:2], GenerationConfig(max_new_tokens=8))
    assert len(gens) == 2 and all(g.n_tokens > 0 for g in gens)
    assert json.loads((out / "sft_summary.json").read_text())["global_step"] == 6


def test_resume_modes(tmp_path):
    assert resume_checkpoint(tmp_path / "none", "auto") is None
    assert resume_checkpoint(tmp_path, "false") is None
    with pytest.raises(FileNotFoundError, match="no checkpoint-N folder"):
        resume_checkpoint(tmp_path, "true")
    with pytest.raises(FileNotFoundError, match="not a training checkpoint"):
        resume_checkpoint(tmp_path, str(tmp_path))


def test_sft_cli_reports_bad_config_and_data(tmp_path, tiny_model_dir, capsys):
    from firered_ocr.cli import main

    recipe = tmp_path / "r.yaml"
    recipe.write_text("sft:\n  optim: {learning_rat: 1}\n")
    assert main(["sft", "--config", str(recipe)]) == 2
    assert "unknown key(s) learning_rat" in capsys.readouterr().err
    recipe.write_text(f"sft:\n  model: {{model: {tiny_model_dir}}}\n  data: {{path: {tmp_path / 'nowhere'}}}\n")
    assert main(["sft", "--config", str(recipe)]) == 1
    assert "dataset folder not found" in capsys.readouterr().err
    assert main(["sft", "--config", str(recipe), "--print-config", "optim.max_steps=7"]) == 0
    assert "max_steps: 7" in capsys.readouterr().out
