"""Per-row bookkeeping of the GRPO trainer, on hand-made tensors (no model): the image fields of chosen rows
(the hybrid NLL's forward pass), this process's slice of the configured estimator's advantages, and the
sample completions written at each step log."""
from __future__ import annotations

from collections import defaultdict, deque
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip("trl")

from trl import GRPOTrainer  # noqa: E402

from firered_ocr.training.grpo_trainer import _select_rows  # noqa: E402
from grpo_support import bare_trainer  # noqa: E402


# ------------------------------------------------------------------ image fields of chosen rows
def test_selected_rows_carry_their_own_image_patches_and_grids_in_the_order_asked():
    """Qwen-VL layout: patches of all images stacked, each image's patch count = t*h*w of its grid row."""
    grid = torch.tensor([[1, 2, 2], [1, 2, 4], [1, 4, 2], [1, 2, 2]])  # 4, 8, 8, 4 patches
    pixels = torch.arange(24 * 3, dtype=torch.float32).view(24, 3)
    inputs = {"pixel_values": pixels, "image_grid_thw": grid, "num_images": [1, 2, 1],  # row 1 has two images
              "prompt_ids": torch.zeros(3, 5)}
    out = _select_rows(inputs, [2, 0])
    assert set(out) == {"pixel_values", "image_grid_thw", "num_images"}
    torch.testing.assert_close(out["pixel_values"], torch.cat([pixels[20:24], pixels[0:4]]))
    assert out["image_grid_thw"].tolist() == [[1, 2, 2], [1, 2, 2]] and out["num_images"] == [1, 1]
    out = _select_rows(inputs, [1])
    torch.testing.assert_close(out["pixel_values"], pixels[4:20])
    assert out["image_grid_thw"].tolist() == [[1, 2, 4], [1, 4, 2]] and out["num_images"] == [2]
    assert _select_rows({"prompt_ids": torch.zeros(2, 3)}, [0]) == {}  # a text-only batch has no image fields


def test_selected_rows_of_models_with_one_pixel_row_per_image_or_per_sample():
    # one row per image, no grid (LLaVA-style): split by image count
    per_image = torch.arange(4 * 2, dtype=torch.float32).view(4, 2)
    out = _select_rows({"pixel_values": per_image, "num_images": [1, 2, 1]}, [1])
    torch.testing.assert_close(out["pixel_values"], per_image[1:3])
    assert out["num_images"] == [2] and "image_grid_thw" not in out
    # already one (padded) row per sample (Idefics-style): the rows themselves
    per_sample = torch.arange(3 * 2 * 2, dtype=torch.float32).view(3, 2, 2)
    out = _select_rows({"pixel_values": per_sample, "num_images": [2, 1, 2]}, [2, 0])
    torch.testing.assert_close(out["pixel_values"], per_sample[[2, 0]])
    assert out["num_images"] == [2, 2]


# ------------------------------------------------------------------ the configured estimator's advantages
class _Estimator:
    """A GroupAdvantage stand-in: fixed advantages for the gathered reward matrix, one metric."""

    def __init__(self, advantages):
        self.advantages = advantages
        self.seen = []

    def compute(self, per_func):
        self.seen.append(per_func)
        return self.advantages, {"maxrl/success_rate": 0.25}


def test_each_process_trains_on_its_own_slice_of_the_estimators_advantages_and_the_logs_show_them():
    gathered = torch.arange(16, dtype=torch.float32).view(8, 2)  # 8 completions (2 processes x 4), 2 rewards
    advantages = torch.tensor([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, -3.5], dtype=torch.float64)
    estimator = _Estimator(advantages)
    metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
    trl_logged = deque([9.0] * 8 + [7.0] * 8, maxlen=16)  # an earlier batch, then TRL's advantages of this one
    trainer = bare_trainer(group_advantage=estimator, accelerator=SimpleNamespace(process_index=1), _metrics=metrics,
                    _logs={"advantages": trl_logged})
    output = {"advantages": torch.zeros(4, dtype=torch.float32)}
    trainer._replace_advantages(output, gathered, 4)
    assert estimator.seen[0] is gathered  # whole groups: the matrix gathered over processes
    assert output["advantages"].dtype == torch.float32  # TRL's dtype and device, not the estimator's
    assert output["advantages"].tolist() == [2.5, -2.5, 3.5, -3.5]  # rank 1: global rows 4-7
    assert metrics["train"]["maxrl/success_rate"] == [0.25] and not metrics["eval"]
    assert list(trl_logged) == [9.0] * 8 + advantages.tolist()  # TRL's values replaced, the earlier batch kept


# ------------------------------------------------------------------ sample completions at each step log
class _SampleLogger:
    def __init__(self):
        self.calls = []

    def log_samples(self, step, samples, report_to):
        self.calls.append((step, samples, report_to))


def _logging_trainer(**overrides):
    nan = float("nan")
    attrs = dict(
        sample_logger=_SampleLogger(), samples_per_log=2, model=SimpleNamespace(training=True),
        accelerator=SimpleNamespace(is_main_process=True), state=SimpleNamespace(global_step=7),
        args=SimpleNamespace(report_to=["tensorboard"]), reward_weights=torch.tensor([1.0, 0.5]),
        _logs={"completion": deque(["old", [{"role": "assistant", "content": "call"},
                                            {"role": "tool", "content": "result"},
                                            {"role": "assistant", "content": "| a |"}], "plain text"]),
               "advantages": deque([0.0, 1.25, -0.75]),
               # a component that could not judge the last completion (NaN), one logged for fewer rows
               "rewards": {"exact": deque([0.0, 0.5, 0.25]), "digits": deque([0.0, 0.8, nan]),
                           "late": deque([0.3])}})
    attrs.update(overrides)
    return bare_trainer(**attrs)


def test_step_logs_write_the_latest_samples_with_their_weighted_total_and_advantage(monkeypatch):
    parent = []
    monkeypatch.setattr(GRPOTrainer, "log", lambda self, logs, start_time=None: parent.append((logs, start_time)))
    trainer = _logging_trainer()
    trainer.log({"loss": 0.5}, 123.0)
    assert parent == [({"loss": 0.5}, 123.0)]  # TRL's own logging first, unchanged
    [(step, samples, report_to)] = trainer.sample_logger.calls
    assert step == 7 and report_to == ["tensorboard"]
    assert [s["id"] for s in samples] == ["step7-0", "step7-1"]
    assert [s["prediction"] for s in samples] == ["| a |", "plain text"]  # the last turn of a conversation
    assert [s["advantage"] for s in samples] == [1.25, -0.75]
    assert samples[0]["rewards"] == {"exact": 0.5, "digits": 0.8, "late": 0.3}
    assert samples[0]["total"] == pytest.approx(1.0 * 0.5 + 0.5 * 0.8)
    assert set(samples[1]["rewards"]) == {"exact", "digits"} and samples[1]["total"] == pytest.approx(0.25)
    assert set(samples[0]) == {"id", "prediction", "total", "advantage", "rewards"}

    one = _logging_trainer(samples_per_log=1)
    one.log({"loss": 0.5})
    assert [s["prediction"] for s in one.sample_logger.calls[0][1]] == ["plain text"]


@pytest.mark.parametrize("case", ["no loss", "no logger", "zero samples", "eval", "other rank", "no completion"])
def test_only_a_training_step_log_on_the_main_process_writes_samples(monkeypatch, case):
    monkeypatch.setattr(GRPOTrainer, "log", lambda self, logs, start_time=None: None)
    overrides = {"no logger": dict(sample_logger=None), "zero samples": dict(samples_per_log=0),
                 "eval": dict(model=SimpleNamespace(training=False)),
                 "other rank": dict(accelerator=SimpleNamespace(is_main_process=False)),
                 "no completion": dict(_logs={"completion": deque(), "advantages": deque(), "rewards": {}})}
    logger = _SampleLogger()
    trainer = _logging_trainer(**{"sample_logger": logger, **overrides.get(case, {})})
    trainer.log({"train_runtime": 3.0} if case == "no loss" else {"loss": 0.5})  # "no loss": the end-of-run summary
    assert logger.calls == []
