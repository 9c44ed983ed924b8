"""One rank of the two-process GRPO test (launched by torchrun): one training step with ground-truth groups,
the hybrid NLL, zero-variance skipping and the curriculum all on; each rank writes what its rollout held.

usage: torchrun --nproc_per_node 2 grpo_ddp_child.py MODEL_DIR DATA_DIR OUT_DIR

12 completions per rollout (3 pages x G=4), 6 per process: the middle group straddles the two ranks, so a
rank that ignores its offset in the global layout puts the ground truth (or a group's mask) on the wrong row.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from grpo_support import small_cfg  # noqa: E402

from firered_ocr.training.curriculum import CurriculumConfig  # noqa: E402
from firered_ocr.training.data import DataConfig, load_split  # noqa: E402
from firered_ocr.training.grpo import build_trainer  # noqa: E402


def main(model: str, data: str, out: str) -> None:
    data_cfg = DataConfig(path=data, max_pages=3)
    constant_gt = load_split(data_cfg, "train")["markdown"][0]

    def pagewise(texts, gts):  # page 0: reward 1 for every completion (zero variance); others: by length
        return [1.0 if g == constant_gt else len(t) / 100 for t, g in zip(texts, gts)]

    cfg = small_cfg(Path(model), Path(data), Path(out) / "run", data=data_cfg, rewards={"pagewise": 1.0},
                    per_device_train_batch_size=6, gt_in_group=True, nll_weight=0.1,
                    skip_zero_variance_groups=True, curriculum=CurriculumConfig(enabled=True), write_plots=False)
    trainer, _ = build_trainer(cfg, reward_registry={"pagewise": pagewise})
    generate = trainer._generate_and_score_completions
    seen: list[dict] = []

    def recording(inputs):
        output = generate(inputs)
        mask = output["completion_mask"]
        seen.append({
            "rank": trainer.accelerator.process_index,
            "ground_truths": [x["ground_truth"] for x in inputs],
            "row_index": [int(x["row_index"]) for x in inputs],
            "completions": [trainer._tokenizer.decode(ids.tolist(), skip_special_tokens=True)
                            for ids in output["completion_ids"]],
            "gt_sample": output["gt_sample"].tolist(),
            "gt_nll_row": output["gt_nll_row"].tolist(),
            "mask_tokens": mask.sum(dim=1).tolist(),
            "num_items_in_batch": int(output["num_items_in_batch"]),
            "global_rewards": trainer._round_rewards[:, 0].tolist(),
            "history": {str(k): list(v) for k, v in trainer.learnability.history.items()},
        })
        return output

    trainer._generate_and_score_completions = recording
    trainer.train()
    rank = trainer.accelerator.process_index
    (Path(out) / f"rank{rank}.json").write_text(json.dumps({"rollouts": seen, "step": trainer.state.global_step}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
