"""`ActorCuratorGRPOTrainer`: FireRedGRPOTrainer with pages chosen by the learned curator (`grpo.curator`).

The loop per generation batch (arXiv 2602.20532, section "Actor-Curator"; our placement in TRL's trainer):

1. `CuratorSampler` draws a candidate pool, the curator's distribution over it, the chosen pages and their
   probabilities (TRL's RepeatSampler layout).
2. `_generate_and_score_completions` (TRL) rolls the chosen pages out and scores them. The log-probabilities
   of the completions under the rollout policy are kept: TRL's own `old_per_token_logps` when it computes
   them (num_iterations > 1, more steps_per_generation than gradient accumulation steps, vLLM correction).
3. The actor trains on the batch as usual (TRL). When TRL kept no old log-probabilities, the training is
   on-policy and each row's loss forward pass precedes every optimizer step on the batch: its detached
   log-probabilities are the rollout policy's, and are captured there at no cost.
4. After the optimizer step that ends the batch's last reuse (a callback's `on_step_end`, so before any
   checkpoint of that step is written), one no-grad forward pass gives the log-probabilities under the
   updated policy; each chosen page's improvement u(x) = (1/G) sum_i A_i (s_i - 1) is computed over the
   gathered groups (identical on every rank) and the curator takes its clipped, importance-weighted step on
   its replay buffer.

So the method costs one extra no-grad forward pass of each generation batch, and the curator's own
forward/backward passes, which are negligible (a tiny MLP).
"""
from __future__ import annotations

import os
import time

import torch
from transformers import TrainerCallback

from firered_ocr.training.grpo_trainer import ROW_INDEX, FireRedGRPOTrainer
from firered_ocr.training.methods.curator.config import CuratorConfig
from firered_ocr.training.methods.curator.curator import Curator
from firered_ocr.training.methods.curator.features import BINARY, FEATURE_NAMES, load_embedding, standardise
from firered_ocr.training.methods.curator.objective import improvement, sequence_ratios
from firered_ocr.training.methods.curator.sampler import CuratorSampler

CURATOR_STATE = "curator_state.pt"
# Chosen-page shares logged per batch: the 0/1 columns as they are, the counts as "has at least one".
SHARE_COLUMNS = {name: i for i, name in enumerate(FEATURE_NAMES)
                 if i < BINARY or name in ("tables", "merged_cells", "formulas")}


class _MeasureAfterUpdate(TrainerCallback):
    def __init__(self, trainer: "ActorCuratorGRPOTrainer"):
        self.trainer = trainer

    def on_step_end(self, args, state, control, **kwargs):
        self.trainer.measure_finished_batches()


class ActorCuratorGRPOTrainer(FireRedGRPOTrainer):
    def __init__(self, *args, curator: CuratorConfig, page_features: torch.Tensor, **kwargs):
        dataset = kwargs.get("train_dataset")
        if dataset is not None and ROW_INDEX not in dataset.column_names:
            kwargs["train_dataset"] = dataset.add_column(ROW_INDEX, list(range(len(dataset))))
        super().__init__(*args, **kwargs)
        if page_features.shape[0] != len(self.train_dataset):
            raise ValueError(f"curator: {page_features.shape[0]} feature rows for {len(self.train_dataset)} pages")
        self.raw_features = page_features.to(torch.float64)
        table = self.raw_features
        if curator.embedding:  # frozen: appended columns, standardised like the counts
            table = torch.cat([table, load_embedding(curator.embedding, [str(i) for i in self.train_dataset["id"]])],
                              dim=1)
        self.curator = Curator(standardise(table), curator)
        self.page_sampler: CuratorSampler | None = None
        self._pending_sampler_state: dict | None = None
        self._unmeasured: list[dict] = []  # rolled-out batches whose updates are not finished yet
        self._capture_rows: torch.Tensor | None = None  # rows whose loss forward pass gives rollout log-probs
        self.add_callback(_MeasureAfterUpdate(self))

    # ------------------------------------------------------------------ sampling
    def _get_train_sampler(self, dataset=None):
        self.page_sampler = CuratorSampler(
            self.curator, mini_repeat_count=self.num_generations,
            batch_size=self.args.generation_batch_size // self.num_generations,
            repeat_count=self.num_iterations * self.args.steps_per_generation, seed=self.curator.cfg.seed)
        if self._pending_sampler_state is not None:
            self.page_sampler.load_state_dict(self._pending_sampler_state)
            self._pending_sampler_state = None
        return self.page_sampler

    # ------------------------------------------------------------------ rollout: remember what to measure
    def policy_logps(self, batch: dict) -> torch.Tensor:
        """Per-token log-probabilities of the batch's completions under the current policy (no gradient)."""
        with torch.no_grad():
            logps, _, _ = self._get_per_token_logps_and_entropies(
                self.model, torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1),
                torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1), batch["completion_ids"].size(1),
                batch_size=self.args.per_device_train_batch_size,
                **{k: batch.get(k) for k in ("pixel_values", "image_grid_thw", "num_images", "pixel_attention_mask",
                                             "spatial_shapes", "num_tiles", "image_sizes", "token_type_ids",
                                             "mm_token_type_ids", "image_position_ids")})
        return logps

    def _generate_and_score_completions(self, inputs):
        from accelerate.utils import gather_object

        training = self.model.training
        output = super()._generate_and_score_completions(inputs)
        if not training or self.page_sampler is None:
            return output
        block = self.page_sampler.pop_consumed()
        pages = gather_object([int(x[ROW_INDEX]) for x in inputs])[:: self.num_generations]
        if block is None or block["pages"] != pages:
            raise RuntimeError(f"curator: the rollout's pages {pages} are not the drawn block "
                               f"{None if block is None else block['pages']}")
        old = output.get("old_per_token_logps")
        if old is None:
            # On-policy (TRL keeps no old log-probabilities): the loss's forward pass of each row comes before
            # any optimizer step on this batch, so its detached log-probabilities are the rollout policy's.
            # They are captured there (`_get_per_token_logps_and_entropies`), row by row, instead of paying
            # for a forward pass here; `curator_row` follows each row through TRL's shuffle and split.
            ids = output["completion_ids"]
            output["curator_row"] = torch.arange(ids.size(0), device=ids.device)
            old = torch.full(ids.shape, float("nan"), dtype=torch.float64, device=ids.device)
        self._unmeasured.append({"block": block, "batch": output, "old": old.detach()})
        metrics = self._metrics["train"]
        metrics["curator/entropy"].append(block["entropy"])
        metrics["curator/p_sampled_mean"].append(block["p_sampled"].mean().item())
        chosen = self.raw_features[torch.tensor(pages)]
        for name, col in SHARE_COLUMNS.items():
            metrics[f"curator/share/{name}"].append((chosen[:, col] > 0).to(torch.float64).mean().item())
        return output

    def _compute_loss(self, model, inputs):
        if "curator_row" in inputs and self.model.training and self._unmeasured:
            self._capture_rows = inputs["curator_row"]  # the next log-prob forward pass is the policy's
        try:
            return super()._compute_loss(model, inputs)
        finally:
            self._capture_rows = None

    def _get_per_token_logps_and_entropies(self, model, input_ids, *args, **kwargs):
        out = super()._get_per_token_logps_and_entropies(model, input_ids, *args, **kwargs)
        rows, self._capture_rows = getattr(self, "_capture_rows", None), None
        if rows is not None:
            old = self._unmeasured[-1]["old"]
            old[rows.to(old.device)] = out[0].detach().to(old.dtype)
        return out

    # ------------------------------------------------------------------ after the update: u(x), curator step
    def measure_finished_batches(self) -> None:
        generate_every = self.args.steps_per_generation * self.num_iterations
        finished = len(self._unmeasured) if self._step % generate_every == 0 else len(self._unmeasured) - 1
        for _ in range(max(0, finished)):
            self._measure(self._unmeasured.pop(0))

    def _measure(self, pending: dict) -> None:
        started = time.perf_counter()
        batch = pending["batch"]
        mask = batch["completion_mask"] if "tool_mask" not in batch else batch["completion_mask"] * batch["tool_mask"]
        old = pending["old"].double()
        if torch.isnan(old).any():
            raise RuntimeError("curator: some rows of the batch never reached the loss, so their rollout "
                               "log-probabilities are unknown")
        ratios = sequence_ratios(self.policy_logps(batch).double(), old, mask)
        advantages = batch["advantages"]
        if advantages.dim() == 2:  # per-token advantages: their mean over the completion's tokens
            advantages = (advantages * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        all_adv = self.accelerator.gather(advantages.double().contiguous()).cpu()
        all_ratios = self.accelerator.gather(ratios.contiguous()).cpu()
        u = improvement(all_adv, all_ratios, self.num_generations)
        block = pending["block"]
        logs = self.curator.observe(block["pool"], block["chosen"], block["p_sampled"], u)
        metrics = self._metrics["train"]
        for key, value in logs.items():
            metrics[key].append(value)
        metrics["curator/u_mean"].append(u.mean().item())
        metrics["curator/ratio_dev"].append((all_ratios - 1).abs().mean().item())
        metrics["curator/measure_seconds"].append(time.perf_counter() - started)  # forward + curator step

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self, model, trial):
        # Before the Trainer's files: trainer_state.json is written last and marks the checkpoint complete.
        if self.page_sampler is not None and self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"checkpoint-{self.state.global_step}")
            os.makedirs(folder, exist_ok=True)
            torch.save({"curator": self.curator.state_dict(), "sampler": self.page_sampler.state_dict()},
                       os.path.join(folder, CURATOR_STATE))
        super()._save_checkpoint(model, trial)

    def _load_rng_state(self, checkpoint):
        # As with the curriculum: the Trainer restores the RNG before creating the dataloader iterator, which
        # draws from it; restore it just before the first resumed training step instead (see grpo_trainer.py).
        if checkpoint is not None:
            self._deferred_rng_checkpoint = checkpoint
            return
        super()._load_rng_state(checkpoint)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is None:
            return
        path = os.path.join(checkpoint, CURATOR_STATE)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: the checkpoint has no curator state (was it written by a run with "
                                    f"curator.enabled=false?); resume it with the same configuration")
        state = torch.load(path, weights_only=False)
        self.curator.load_state_dict(state["curator"])
        if self.page_sampler is not None:
            self.page_sampler.load_state_dict(state["sampler"])
        else:
            self._pending_sampler_state = state["sampler"]
