"""The hybrid NLL term per micro-batch and per process: a micro-batch without a page's NLL row adds nothing, but
under several processes it still runs the NLL forward pass (at weight 0), because under DDP every forward pass
syncs buffers across ranks and a rank that skipped one would leave the others waiting. Outside training (eval)
the term is not divided by the accumulation steps.

The fast tests look at one rank's side (the process count seen as 2); the slow one runs two real processes
(torchrun, gloo) in which rank 1 never holds an NLL row."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

from grpo_support import FAKE_REGISTRY, first_rollout, small_cfg  # noqa: E402
from trl import GRPOTrainer  # noqa: E402
from trl.trainer.utils import split_pixel_values_by_grid, split_tensor_dict, unsplit_pixel_values_by_grid  # noqa: E402

from firered_ocr.training.grpo import build_trainer  # noqa: E402

LAMBDA = 0.5


class _SeveralRanks:
    """This process's accelerator as one rank of `n` processes sees it (the rest is the real accelerator)."""

    def __init__(self, real, n: int):
        self._real, self.num_processes = real, n

    def __getattr__(self, name):
        return getattr(self._real, name)


def _rollout_in_micro_batches(tiny_model_dir, tiny_dataset_dir, tmp_path):
    """2 pages x G=4 rows, split in order into 8 one-row micro-batches as TRL splits a generation batch."""
    trainer, _ = build_trainer(small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path / "out", nll_weight=LAMBDA),
                               reward_registry=FAKE_REGISTRY)
    _, out = first_rollout(trainer)
    micro = [unsplit_pixel_values_by_grid(b) for b in split_tensor_dict(split_pixel_values_by_grid(out), 8)]
    assert [bool(m["gt_nll_row"].any()) for m in micro] == [True, False, False, False, True, False, False, False]
    forwards: list[int] = []
    trainer.model.register_forward_hook(lambda *_: forwards.append(1))
    return trainer, micro, forwards


def _loss_and_forwards(trainer, inputs, forwards, loss_fn):
    before = len(forwards)
    loss = loss_fn(trainer.model, inputs)
    return loss.item(), len(forwards) - before


def test_a_micro_batch_without_an_nll_row_runs_the_nll_forward_at_weight_zero_only_under_several_processes(
        tiny_model_dir, tiny_dataset_dir, tmp_path, monkeypatch):
    trainer, micro, forwards = _rollout_in_micro_batches(tiny_model_dir, tiny_dataset_dir, tmp_path)
    trainer.current_gradient_accumulation_steps = 2
    trl_loss = lambda model, inputs: GRPOTrainer._compute_loss(trainer, model, inputs)  # noqa: E731

    base, base_forwards = _loss_and_forwards(trainer, micro[1], forwards, trl_loss)
    # one process: nothing added and no extra forward pass
    assert _loss_and_forwards(trainer, micro[1], forwards, trainer._compute_loss) == (base, base_forwards)

    monkeypatch.setattr(trainer, "accelerator", _SeveralRanks(trainer.accelerator, 2))
    base, base_forwards = _loss_and_forwards(trainer, micro[1], forwards, trl_loss)
    trainer._metrics["train"]["nll_gt"].clear()
    # one rank of two: the same loss, exactly, after one more forward pass (the NLL of its first row, times 0)
    assert _loss_and_forwards(trainer, micro[1], forwards, trainer._compute_loss) == (base, base_forwards + 1)
    assert trainer._metrics["train"]["nll_gt"] == []  # no NLL was measured, none is logged

    # a micro-batch with an NLL row adds lambda * NLL / accumulation steps, as in one process
    base, _ = _loss_and_forwards(trainer, micro[0], forwards, trl_loss)
    nll = trainer.gt_nll(trainer.model, micro[0]).item()
    loss, n = _loss_and_forwards(trainer, micro[0], forwards, trainer._compute_loss)
    assert loss == pytest.approx(base + LAMBDA * nll / 2, rel=1e-5) and n == base_forwards + 1
    assert trainer._metrics["train"]["nll_gt"] == [pytest.approx(nll)]


def test_outside_training_the_nll_term_is_not_divided_by_the_accumulation_steps(tiny_model_dir, tiny_dataset_dir,
                                                                                 tmp_path):
    trainer, micro, forwards = _rollout_in_micro_batches(tiny_model_dir, tiny_dataset_dir, tmp_path)
    trainer.current_gradient_accumulation_steps = 2
    trainer.model.eval()
    base = GRPOTrainer._compute_loss(trainer, trainer.model, micro[4]).item()
    nll = trainer.gt_nll(trainer.model, micro[4]).item()
    assert trainer._compute_loss(trainer.model, micro[4]).item() == pytest.approx(base + LAMBDA * nll, rel=1e-5)
    assert trainer._metrics["eval"]["nll_gt"] == [pytest.approx(nll)] and trainer._metrics["train"]["nll_gt"] == []


@pytest.mark.slow
def test_two_processes_where_one_rank_holds_no_nll_row_train_in_step(tiny_model_dir, tiny_dataset_dir, tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found"
    import firered_ocr

    child = Path(__file__).with_name("grpo_nll_ddp_child.py")
    # the ranks import the same checkout as this test (not whichever one the environment has installed)
    source = str(Path(firered_ocr.__file__).resolve().parents[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([torchrun, "--nproc_per_node", "2", str(child), str(tiny_model_dir),
                             str(tiny_dataset_dir), str(tmp_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:  # ranks stuck in a collective: end them all, not just torchrun
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the two ranks did not finish in 400 s (a rank waiting for a forward pass the other skipped)")
    assert proc.returncode == 0, stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["step"] for r in ranks] == [2, 2]
    rank0, rank1 = ranks[0]["seen"], ranks[1]["seen"]
    assert [s["nll_rows"] for s in rank0] == [1, 1] and [s["nll_rows"] for s in rank1] == [0, 0]
    # the same forward passes on both ranks: TRL's and one for the NLL (weighted 0 on rank 1)
    assert [s["forwards"] for s in rank0] == [s["forwards"] for s in rank1] == [2, 2]
    assert [s["nll_logged"] for s in rank0] == [1, 1] and [s["nll_logged"] for s in rank1] == [0, 0]
    for s in rank0:
        assert s["accumulation"] == 1 and s["added"] == pytest.approx(0.5 * s["nll"], rel=1e-4)
    assert [s["added"] for s in rank1] == [0.0, 0.0]
    assert ranks[0]["digest"] == ranks[1]["digest"]  # DDP kept the two replicas identical
