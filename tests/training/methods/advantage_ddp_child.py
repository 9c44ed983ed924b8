"""Run under torchrun by test_methods_ddp.py: one rollout per advantage method; each process writes the gathered
reward matrix and its own slice of the advantages the trainer will train on."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/training: grpo_support

from grpo_support import FAKE_REGISTRY, first_rollout, small_cfg  # noqa: E402

from firered_ocr.training.grpo import build_trainer  # noqa: E402
from firered_ocr.training.methods import MaxRLConfig  # noqa: E402


def spread(texts, gts):
    return [(len(t) % 7) / 6 for t in texts]


def main(model_dir: str, data_dir: str, out_dir: str) -> None:
    registry = {**FAKE_REGISTRY, "spread": spread}
    for advantage in ("maxrl", "maxrl_ustat", "prosper"):
        # G = 4, 6 completions per process: the second group is rows 4-5 of rank 0 and rows 0-1 of rank 1
        cfg = small_cfg(Path(model_dir), Path(data_dir), Path(out_dir) / advantage, rewards={"spread": 1.0,
                        "digits": 0.5}, advantage=advantage, per_device_train_batch_size=6,
                        maxrl=MaxRLConfig(success={"spread": 0.5}) if advantage == "maxrl" else MaxRLConfig())
        trainer, _ = build_trainer(cfg, reward_registry=registry)
        _, out = first_rollout(trainer)
        rank = trainer.accelerator.process_index
        record = {"rank": rank, "processes": trainer.accelerator.num_processes,
                  "rewards": trainer._round_rewards.tolist(), "advantages": out["advantages"].tolist()}
        path = Path(out_dir) / f"{advantage}-rank{rank}.json"
        path.write_text(json.dumps(record))


if __name__ == "__main__":
    main(*sys.argv[1:4])
