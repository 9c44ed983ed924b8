"""One rank of the two-process Actor-Curator test (launched by torchrun): two GRPO steps with the curator on;
each rank writes every (pool, chosen pages, probabilities, improvements) its curator observed and its final
curator weights.

usage: torchrun --nproc_per_node 2 curator_ddp_child.py MODEL_DIR DATA_DIR OUT_DIR

12 completions per rollout (3 pages x G=4), 6 per process: the middle group straddles the two ranks.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/training: grpo_support

from grpo_support import FAKE_REGISTRY, small_cfg  # noqa: E402

from firered_ocr.training.data import DataConfig  # noqa: E402
from firered_ocr.training.grpo import build_trainer  # noqa: E402
from firered_ocr.training.methods.curator.config import CuratorConfig  # noqa: E402


def main(model: str, data: str, out: str) -> None:
    cfg = small_cfg(Path(model), Path(data), Path(out) / "run", data=DataConfig(path=data, max_pages=8),
                    rewards={"length": 1.0}, per_device_train_batch_size=6, max_steps=2,
                    curator=CuratorConfig(enabled=True, pool_factor=2.0), write_plots=False)
    trainer, _ = build_trainer(cfg, reward_registry=FAKE_REGISTRY)
    observe = trainer.curator.observe
    seen: list[dict] = []

    def recording(pool, chosen, p_sampled, u):
        seen.append({"pool": pool.tolist(), "chosen": chosen.tolist(), "p": p_sampled.tolist(), "u": u.tolist()})
        return observe(pool, chosen, p_sampled, u)

    trainer.curator.observe = recording
    generate = trainer._generate_and_score_completions
    rows: list[list[int]] = []

    def rollout(inputs):
        rows.append([int(x["row_index"]) for x in inputs])
        return generate(inputs)

    trainer._generate_and_score_completions = rollout
    trainer.train()
    rank = trainer.accelerator.process_index
    (Path(out) / f"rank{rank}.json").write_text(json.dumps({
        "observed": seen, "rows": rows, "updates": trainer.curator.updates,
        "weights": [p.detach().tolist() for p in trainer.curator.scorer.parameters()]}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
