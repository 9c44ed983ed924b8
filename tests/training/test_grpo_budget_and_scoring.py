"""The GRPO trainer at the settings the recipes use: the token budget reaches the rewards, a ground truth longer
than the budget is cut like a sampled page, unscorable rows stay out of the group variance, and the hybrid NLL
term is scaled for gradient accumulation > 1 (the 2B recipes accumulate 8 micro-batches)."""
from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("trl")

from grpo_support import first_rollout, small_cfg  # noqa: E402
from trl import GRPOTrainer  # noqa: E402

from firered_ocr.training.data import DataConfig  # noqa: E402
from firered_ocr.training.grpo import build_trainer  # noqa: E402


class HitRecorder:
    """A registry reward that takes `hit_max_tokens` (as the project's rewards do) and records what it was told."""

    def __init__(self):
        self.hits: list[list[bool]] = []

    def __call__(self, texts, gts, hit_max_tokens=None):
        self.hits.append(None if hit_max_tokens is None else list(hit_max_tokens))
        return [len(t) / 100 for t in texts]


def _trainer(model, data_dir, tmp_path, registry, **overrides):
    trainer, _ = build_trainer(small_cfg(model, data_dir, tmp_path / "out", **overrides), reward_registry=registry)
    return trainer


def _lengths(out) -> list[int]:
    return out["completion_mask"].sum(dim=1).tolist()


def test_build_trainer_tells_the_rewards_which_completions_hit_the_token_budget(tiny_model_dir, tiny_dataset_dir,
                                                                                 tmp_path):
    recorder = HitRecorder()
    trainer = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, {"rec": recorder}, rewards={"rec": 1.0},
                       max_completion_length=6)
    _, out = first_rollout(trainer)
    assert len(recorder.hits) == 1 and recorder.hits[0] is not None
    assert recorder.hits[0] == [n >= 6 for n in _lengths(out)]
    assert any(recorder.hits[0])  # the random model runs into a 6-token budget: the check has teeth


def test_ground_truth_longer_than_the_budget_is_cut_without_its_end_token(tiny_model_dir, tiny_dataset_dir, tmp_path):
    recorder = HitRecorder()
    trainer = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, {"rec": recorder}, rewards={"rec": 1.0},
                       gt_in_group=True, max_completion_length=6, mask_truncated_completions=True)
    end = trainer._tokenizer.convert_tokens_to_ids("<|im_end|>")
    tokens = trainer._tokenizer("<table><tr><td>123</td></tr></table>", add_special_tokens=False)["input_ids"]
    assert len(tokens) > 6
    for n in (5, 6, 7):  # one short of the budget, exactly the budget, one over
        text = trainer._tokenizer.decode(tokens[:n])
        ids = trainer._gt_token_ids(text)
        assert ids == (tokens[:5] + [end] if n == 5 else tokens[:6]), n  # never more than the budget

    batch, out = first_rollout(trainer)
    gt_rows = out["gt_sample"].nonzero(as_tuple=True)[0].tolist()
    assert gt_rows == [3, 7]
    for row in gt_rows:
        full = trainer._tokenizer(batch[row]["ground_truth"], add_special_tokens=False)["input_ids"]
        assert len(full) > 6
        assert out["completion_ids"][row].tolist() == full[:6]  # cut, no end token
        assert recorder.hits[0][row] is True  # the rewards see it as cut by the budget
        assert out["completion_mask"][row].sum() == 0  # and mask_truncated_completions masks it like a sample


def test_unscorable_completions_stay_out_of_the_group_variance(tiny_model_dir, tiny_dataset_dir, tmp_path):
    """A reward that can judge only some completions (None for the rest) and gives every judged one 1.0: each
    group's variance is 0, so every group is zero-variance and, when skipped, leaves the loss."""
    def half_judged(texts, gts):
        return [None if len(t) % 2 else 1.0 for t in texts]

    trainer = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, {"half": half_judged}, rewards={"half": 1.0},
                       skip_zero_variance_groups=True)
    _, out = first_rollout(trainer)
    raw = trainer._round_rewards[:, 0]
    g = trainer.num_generations
    groups = raw.view(-1, g)
    mixed = [bool(torch.isnan(grp).any()) and not bool(torch.isnan(grp).all()) for grp in groups]
    assert any(mixed), "no group mixes judged and unjudged completions: the check would have no teeth"
    assert trainer._metrics["train"]["groups/zero_variance_frac"] == [1.0]
    assert out["completion_mask"].sum() == 0 and out["num_items_in_batch"].item() == 0


def test_hybrid_nll_is_divided_by_the_accumulation_steps_in_a_real_step(tiny_model_dir, tiny_dataset_dir, tmp_path):
    """Gradient accumulation 2 (the 2B recipes use 8): in each micro-batch of a real optimizer step the NLL term
    adds lambda * NLL / 2, so the step's total NLL weight is lambda whatever the accumulation."""
    lam = 0.5
    trainer = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, {"len": lambda t, g: [len(x) / 100 for x in t]},
                       rewards={"len": 1.0}, nll_weight=lam, per_device_train_batch_size=4,
                       gradient_accumulation_steps=2, data=DataConfig(path=str(tiny_dataset_dir), max_pages=4))
    seen = []
    compute_loss = trainer._compute_loss

    def recording(model, inputs):
        total = compute_loss(model, inputs)
        with torch.no_grad():
            base = GRPOTrainer._compute_loss(trainer, model, inputs).item()
            nll = trainer.gt_nll(model, inputs).item()
        seen.append((trainer.current_gradient_accumulation_steps, total.item() - base, nll))
        return total

    trainer._compute_loss = recording
    trainer.train()
    assert trainer.state.global_step == 1 and len(seen) == 2  # two micro-batches in the one optimizer step
    for steps, added, nll in seen:
        assert steps == 2
        assert math.isfinite(nll) and nll > 0
        assert added == pytest.approx(lam * nll / 2, rel=1e-4, abs=1e-6)


class _StubTokenizer:
    """Characters as token ids; `end` is what `<|im_end|>` converts to (a tokenizer may not have it)."""

    unk_token_id = 0

    def __init__(self, end):
        self.end = end

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": [ord(c) for c in text] + ([1] if add_special_tokens else [])}

    def convert_tokens_to_ids(self, token):
        return self.end if token == "<|im_end|>" else self.unk_token_id


@pytest.mark.parametrize("im_end, expected_end", [(7, 7), (0, 5), (None, 5)])
def test_ground_truth_ends_with_im_end_or_the_models_first_eos(im_end, expected_end):
    from firered_ocr.training.grpo_trainer import FireRedGRPOTrainer

    trainer = FireRedGRPOTrainer.__new__(FireRedGRPOTrainer)  # only the tokenisation, no model
    trainer._tokenizer = _StubTokenizer(im_end)
    trainer.eos_token_ids = [5, 6]
    trainer.max_completion_length = 4
    assert trainer._gt_token_ids("ab") == [97, 98, expected_end]  # no special tokens added, then the end token
    assert trainer._gt_token_ids("abcd") == [97, 98, 99, 100]  # exactly the budget: cut, no end token
