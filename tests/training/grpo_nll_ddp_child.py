"""One rank of the two-process hybrid-NLL test (launched by torchrun): two training steps in which rank 1's
micro-batches never hold a page's first row, so rank 1 has no NLL row while rank 0 has one in every step.

usage: torchrun --nproc_per_node 2 grpo_nll_ddp_child.py MODEL_DIR DATA_DIR OUT_DIR

One page per step, G=4 completions, 2 per process: rank 0 holds global rows 0-1 (row 0 carries the page's
NLL), rank 1 rows 2-3. Each rank records, per micro-batch, its NLL rows, the forward passes its loss made,
and what the NLL term added to TRL's loss (recomputed without DDP, on both ranks alike).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from grpo_support import FAKE_REGISTRY, small_cfg  # noqa: E402
from trl import GRPOTrainer  # noqa: E402

from firered_ocr.training.data import DataConfig  # noqa: E402
from firered_ocr.training.grpo import build_trainer  # noqa: E402

LAMBDA = 0.5


def main(model: str, data: str, out: str) -> None:
    # ddp_timeout: a rank left waiting in a collective fails within a minute instead of half an hour
    cfg = small_cfg(Path(model), Path(data), Path(out) / "run", data=DataConfig(path=data, max_pages=2),
                    rewards={"length": 1.0}, per_device_train_batch_size=2, nll_weight=LAMBDA, max_steps=2,
                    write_plots=False, trl_args={"ddp_timeout": 60})
    trainer, _ = build_trainer(cfg, reward_registry=FAKE_REGISTRY)
    forwards: list[int] = []
    trainer.model.register_forward_hook(lambda *_: forwards.append(1))  # fires through the DDP wrapper too
    compute_loss = trainer._compute_loss
    seen: list[dict] = []

    def recording(model, inputs):
        before, logged = len(forwards), len(trainer._metrics["train"]["nll_gt"])
        loss = compute_loss(model, inputs)
        record = {"nll_rows": int(inputs["gt_nll_row"].sum()), "forwards": len(forwards) - before,
                  "nll_logged": len(trainer._metrics["train"]["nll_gt"]) - logged}
        with torch.no_grad():  # the unwrapped model: no DDP collective, and both ranks do the same
            base = GRPOTrainer._compute_loss(trainer, trainer.model, inputs).item()
            rows = inputs["gt_nll_row"].nonzero(as_tuple=True)[0].tolist()
            nll = trainer.gt_nll(trainer.model, inputs).item() if rows else None
        record.update(added=loss.item() - base, nll=nll, accumulation=trainer.current_gradient_accumulation_steps)
        seen.append(record)
        return loss

    trainer._compute_loss = recording
    trainer.train()
    digest = [p.detach().double().sum().item() for p in trainer.model.parameters()]
    rank = trainer.accelerator.process_index
    (Path(out) / f"rank{rank}.json").write_text(json.dumps({"seen": seen, "step": trainer.state.global_step,
                                                           "digest": digest}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
