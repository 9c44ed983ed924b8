"""Each off-policy switch of the GRPO stage changes what it claims, checked on the tiny model's own rollouts."""
from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("trl")

from grpo_support import FAKE_REGISTRY, first_rollout, per_token_logps, small_cfg  # noqa: E402
from trl import GRPOTrainer  # noqa: E402

from firered_ocr.training.grpo import build_trainer  # noqa: E402


def _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, registry=FAKE_REGISTRY, **overrides):
    trainer, _ = build_trainer(small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path / "out", **overrides),
                               reward_registry=registry)
    return trainer


def _decode(trainer, out, row: int) -> str:
    ids = out["completion_ids"][row][out["completion_mask"][row].bool()].tolist()
    return trainer._tokenizer.decode(ids, skip_special_tokens=True)


def test_ground_truth_joins_each_group_and_its_advantage_enters_the_loss(tiny_model_dir, tiny_dataset_dir, tmp_path):
    trainer = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, gt_in_group=True)
    batch, out = first_rollout(trainer)
    g = trainer.num_generations
    gt_rows = out["gt_sample"].nonzero(as_tuple=True)[0].tolist()
    assert gt_rows == [i for i in range(len(batch)) if i % g == g - 1]  # the last of each group
    for row in gt_rows:
        assert _decode(trainer, out, row) == batch[row]["ground_truth"]
    # logged: the weighted total reward of the GT rows and of the sampled rows, and the GT rows' advantage
    totals = (trainer._round_rewards * torch.tensor([1.0, 0.5])).sum(dim=1)
    is_gt = out["gt_sample"]
    logged = trainer._metrics["train"]
    assert logged["gt/reward_mean"] == [pytest.approx(totals[is_gt].mean().item())]
    assert logged["gt/sampled_reward_mean"] == [pytest.approx(totals[~is_gt].mean().item())]
    assert logged["gt/advantage_mean"] == [pytest.approx(out["advantages"][is_gt].mean().item())]
    assert totals[is_gt].mean() != totals[~is_gt].mean()  # the two means are told apart
    exact = list(trainer._logs["rewards"]["exact"])
    advantages = out["advantages"]
    for row in gt_rows:
        assert exact[row] == 1.0  # rewarded like any sample
        group = range(row - g + 1, row + 1)
        if any(exact[i] < 1.0 for i in group):  # the random model does not write the GT: GT is the best
            assert advantages[row] > 0 and advantages[row] == max(advantages[i] for i in group)
    loss = trainer._compute_loss(trainer.model, out).item()
    no_gt_adv = dict(out, advantages=advantages.clone())
    no_gt_adv["advantages"][gt_rows] = 0.0
    assert trainer._compute_loss(trainer.model, no_gt_adv).item() != pytest.approx(loss, abs=1e-6)

    plain = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, gt_in_group=False)
    batch, out = first_rollout(plain)
    assert "gt_sample" not in out
    assert not any(_decode(plain, out, r) == batch[r]["ground_truth"] for r in range(len(batch)))


def _independent_gt_nll(trainer, example, first_tokens: int | None = None) -> float:
    """Mean per-token NLL of the GT after the prompt, through a plain forward pass of the processor's input."""
    processor = trainer.processing_class
    prompt = processor.apply_chat_template(example["prompt"], tokenize=False, add_generation_prompt=True)
    inputs = processor(text=[prompt], images=[example["image"]], return_tensors="pt")
    answer = trainer._tokenizer(example["ground_truth"], add_special_tokens=False)["input_ids"]
    answer = torch.tensor([answer + [trainer._tokenizer.convert_tokens_to_ids("<|im_end|>")]])
    n = answer.size(1)
    inputs["input_ids"] = torch.cat([inputs["input_ids"], answer], dim=1)
    inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
    inputs["mm_token_type_ids"] = torch.cat([inputs["mm_token_type_ids"], torch.zeros_like(answer)], dim=1)
    with torch.no_grad():
        logits = trainer.model(**inputs).logits[0, -n - 1:-1]
    per_token = -torch.log_softmax(logits.float(), -1).gather(1, answer[0].unsqueeze(1))[:, 0]
    return per_token[:first_tokens].mean().item()


def test_hybrid_nll_adds_lambda_times_gt_nll_and_lambda_zero_changes_nothing(tiny_model_dir, tiny_dataset_dir,
                                                                              tmp_path):
    trainer = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, nll_weight=0.5)
    batch, out = first_rollout(trainer)
    nll_rows = out["gt_nll_row"].nonzero(as_tuple=True)[0].tolist()
    assert nll_rows == list(range(0, len(batch), trainer.num_generations))  # each page once
    nll = trainer.gt_nll(trainer.model, out).item()
    expected = sum(_independent_gt_nll(trainer, batch[r]) for r in nll_rows) / len(nll_rows)
    assert nll == pytest.approx(expected, rel=1e-4)
    # pages of different lengths in one micro-batch: each page's mean runs over its own tokens only
    short = dict(out, gt_mask=out["gt_mask"].clone())
    short["gt_mask"][nll_rows[0], 1:] = 0  # a one-token page
    expected_short = (_independent_gt_nll(trainer, batch[nll_rows[0]], first_tokens=1)
                      + sum(_independent_gt_nll(trainer, batch[r]) for r in nll_rows[1:])) / len(nll_rows)
    assert trainer.gt_nll(trainer.model, short).item() == pytest.approx(expected_short, rel=1e-4)
    base = GRPOTrainer._compute_loss(trainer, trainer.model, out).item()
    assert trainer._compute_loss(trainer.model, out).item() == pytest.approx(base + 0.5 * nll, rel=1e-5)
    # its gradient is lambda * grad NLL: compare on one parameter
    param = trainer.model.lm_head.weight
    trainer.model.zero_grad()
    trainer._compute_loss(trainer.model, out).backward()
    with_nll = param.grad.clone()
    trainer.model.zero_grad()
    GRPOTrainer._compute_loss(trainer, trainer.model, out).backward()
    without = param.grad.clone()
    trainer.model.zero_grad()
    trainer.gt_nll(trainer.model, out).backward()
    torch.testing.assert_close(with_nll - without, 0.5 * param.grad, rtol=1e-4, atol=1e-6)

    off = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, nll_weight=0.0)
    _, out = first_rollout(off)
    assert "gt_ids" not in out
    assert off._compute_loss(off.model, out).item() == GRPOTrainer._compute_loss(off, off.model, out).item()


def test_gt_targets_follow_the_global_row_offset_and_skip_pages_without_ground_truth(tiny_model_dir, tiny_dataset_dir,
                                                                                      tmp_path):
    """A rank whose rows start mid-group (offset 3 of G=4) puts each page's NLL on the first row of its group;
    a row without a ground truth gets no target."""
    trainer = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, nll_weight=0.5)
    out = {"completion_ids": torch.zeros((5, 3), dtype=torch.long)}
    inputs = [{"ground_truth": "7"}, {"ground_truth": "12"}, {"ground_truth": "12"}, {}, {"ground_truth": None}]
    trainer._attach_gt_targets(out, inputs, global_offset=3)
    assert out["gt_nll_row"].tolist() == [False, True, False, False, False]  # global rows 3..7: row 4 starts a group
    twelve = trainer._gt_token_ids("12")
    assert out["gt_ids"].dtype == out["gt_mask"].dtype == torch.long and out["gt_nll_row"].dtype == torch.bool
    assert out["gt_ids"][1, : len(twelve)].tolist() == twelve and out["gt_mask"][1].tolist() == [1] * len(twelve)
    assert out["gt_mask"][3].sum() == 0 and out["gt_mask"][4].sum() == 0
    assert (out["gt_ids"][3] == trainer._tokenizer.pad_token_id).all()


def _page_constant_registry(constant_gt: str):
    """Page `constant_gt` gets reward 1 for every completion (a zero-variance group); others get their length."""
    def reward(texts, gts):
        return [1.0 if g == constant_gt else len(t) / 100 for t, g in zip(texts, gts)]
    return {"pagewise": reward}


@pytest.mark.parametrize("skip", [True, False])
def test_zero_variance_groups_leave_the_loss_only_when_skipped(tiny_model_dir, tiny_dataset_dir, tmp_path, skip):
    from firered_ocr.training.data import DataConfig, load_split

    data = DataConfig(path=str(tiny_dataset_dir), max_pages=2)
    gts = load_split(data, "train")["markdown"]
    assert gts[0] != gts[1]
    trainer = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, registry=_page_constant_registry(gts[0]),
                       rewards={"pagewise": 1.0}, data=data, skip_zero_variance_groups=skip)
    batch, out = first_rollout(trainer)
    constant_rows = [i for i, x in enumerate(batch) if x["ground_truth"] == gts[0]]
    other_rows = [i for i in range(len(batch)) if i not in constant_rows]
    assert len(constant_rows) == len(other_rows) == trainer.num_generations
    assert trainer._metrics["train"]["groups/zero_variance_frac"] == [0.5]
    mask = out["completion_mask"]
    assert (mask[other_rows].sum(dim=1) > 0).all()
    if skip:
        assert mask[constant_rows].sum() == 0
        assert out["num_items_in_batch"].item() == mask[other_rows].sum().item()
        assert trainer._metrics["train"]["groups/skipped_frac"] == [0.5]
    else:
        assert (mask[constant_rows].sum(dim=1) > 0).all()
        assert out["num_items_in_batch"].item() == mask.sum().item()


def test_importance_ratio_level_token_vs_sequence_matches_the_clipped_objective(tiny_model_dir, tiny_dataset_dir,
                                                                                tmp_path):
    trainer = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, rewards={"length": 1.0})
    _, out = first_rollout(trainer)
    logps = per_token_logps(trainer, out)
    mask = out["completion_mask"].float()
    gen = torch.Generator().manual_seed(0)
    old = logps + 0.3 * torch.randn(logps.shape, generator=gen) * mask  # a behaviour policy that drifted
    out = dict(out, old_per_token_logps=old)
    adv = out["advantages"].unsqueeze(1)
    eps = trainer.epsilon_low
    n_tokens = out["num_items_in_batch"].clamp(min=1)
    losses = {}
    for level in ("token", "sequence"):
        trainer.importance_sampling_level = level
        losses[level] = trainer._compute_loss(trainer.model, out).item()
        log_ratio = logps - old
        if level == "sequence":
            log_ratio = ((log_ratio * mask).sum(1) / mask.sum(1).clamp(min=1)).unsqueeze(1)
        ratio = torch.exp(log_ratio)
        per_token = -torch.min(ratio * adv, torch.clamp(ratio, 1 - eps, 1 + trainer.epsilon_high) * adv)
        assert losses[level] == pytest.approx(((per_token * mask).sum() / n_tokens).item(), rel=1e-4, abs=1e-6)
    assert losses["token"] != pytest.approx(losses["sequence"], rel=1e-3)


@pytest.mark.parametrize("num_iterations", [1, 2])
def test_num_iterations_reuses_each_rollout_with_ratios_away_from_one(tiny_model_dir, tiny_dataset_dir, tmp_path,
                                                                      num_iterations):
    trainer = _trainer(tiny_model_dir, tiny_dataset_dir, tmp_path, rewards={"length": 1.0},
                       num_iterations=num_iterations, max_steps=2, learning_rate=1e-2)
    generations, ratio_gaps = [], []
    generate, compute_loss = trainer._generate_and_score_completions, trainer._compute_loss

    def counting_generate(inputs):
        generations.append(trainer.state.global_step)
        return generate(inputs)

    def measuring_loss(model, inputs):
        if "old_per_token_logps" in inputs:
            gap = (per_token_logps(trainer, inputs) - inputs["old_per_token_logps"]).abs()
            ratio_gaps.append((gap * inputs["completion_mask"]).max().item())
        return compute_loss(model, inputs)

    trainer._generate_and_score_completions = counting_generate
    trainer._compute_loss = measuring_loss
    trainer.train()
    assert trainer.state.global_step == 2
    assert len(generations) == 2 // num_iterations  # optimizer steps per rollout = num_iterations
    if num_iterations == 2:
        assert len(ratio_gaps) == 2
        assert ratio_gaps[0] < 1e-5  # first update: the policy that sampled is the policy being updated
        assert ratio_gaps[1] > 1e-3 and not math.isnan(ratio_gaps[1])  # second: ratios are off 1
    else:
        assert ratio_gaps == []  # on-policy: TRL needs no old log-probs at all
