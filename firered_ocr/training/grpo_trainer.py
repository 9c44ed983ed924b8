"""The smallest extension of TRL's `GRPOTrainer` for what TRL 1.16 lacks (docs/training.md, "Library behaviours").

TRL already does: G sampled completions per page, weighted rewards, group-normalised advantages, the
clipped objective and its variants (`loss_type`), KL to a reference (`beta`), reuse of a rollout batch
(`num_iterations`, `steps_per_generation`) with token- or sequence-level ratios
(`importance_sampling_level`), vLLM, PEFT, DeepSpeed. `FireRedGRPOTrainer` adds, each off by default:

- **Ground-truth-guided groups** (`gt_in_group`): in each group, the last of the G completions is replaced
  by the page's known Markdown (tokenised, followed by the end-of-turn token). It is rewarded like any
  sample and joins the group's mean/std, so its advantage is computed exactly as TRL does for the others.
  *Its importance ratio*: the GT was not sampled from any policy; its true behaviour probability is 1
  (a point mass), which would make the ratio pi_theta(gt) itself, for a page of hundreds of tokens
  astronomically small: the sample would contribute nothing. We instead treat it as if the rollout policy
  had sampled it: its "old" log-probabilities are the current policy's at rollout time (TRL computes
  them for every row when `num_iterations > 1`; with one iteration TRL uses the detached current
  log-probabilities), so the ratio is exactly 1 on the first update (gradient `A_gt * grad log pi(gt)`, an
  advantage-weighted NLL of the GT) and is clipped like any other sample on later updates of the same
  batch. With vLLM the GT has no sampling log-probabilities: they are passed as None, which TRL treats as
  "no vLLM correction" for those tokens. A GT longer than `max_completion_length` is cut and keeps no
  end token, so it counts as truncated (and is masked if `mask_truncated_completions`).
- **SFT-anchored GRPO** (`nll_weight` = lambda; an SFT anchor, not MaxRL): loss += lambda * NLL of the page's GT given its
  image, NLL = mean over the GT pages of this micro-batch of each page's mean per-token negative
  log-likelihood (each page once per generation batch: the first row of its group), divided by the
  gradient-accumulation steps like TRL's own per-micro-batch losses. lambda = 0 computes nothing.
- **Zero-variance groups** (`skip_zero_variance_groups`): groups whose G rewards are all equal get their
  completion mask zeroed, so their tokens leave the loss and its token-count normaliser (DAPO's dynamic
  sampling without the re-sampling). Their advantage is 0 anyway, so what changes is the normalisation
  of the token-averaged losses (`dapo`, `bnpo`, `dr_grpo`, `cispo`, `vespo`) and the KL term (beta > 0);
  with `loss_type=grpo` the masked rows still count in the mean over sequences. The share of such
  groups is logged either way (`groups/zero_variance_frac`).
- **Group advantage** (`advantage`: maxrl, maxrl_ustat, prosper): TRL's GRPO advantages are replaced by
  the configured estimator's on the reward matrix gathered over processes (`methods/advantages.py`).
- **Learnability curriculum** (`curriculum.enabled`): see `curriculum.py`; the trainer feeds it each
  group's reward variance and saves its state in every checkpoint.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import torch
from trl import GRPOTrainer
from trl.trainer.utils import split_pixel_values_by_grid, unsplit_pixel_values_by_grid

from firered_ocr.training.curriculum import CurriculumConfig, CurriculumSampler, LearnabilityStats, group_variances
from firered_ocr.training.reward_wiring import GT_COLUMN

CURRICULUM_STATE = "curriculum_state.json"
ROW_INDEX = "row_index"


@dataclasses.dataclass
class OffPolicyOptions:
    gt_in_group: bool = False  # replace one of the G completions by the ground truth
    nll_weight: float = 0.0  # lambda of the SFT-anchored GRPO term (NLL of the ground truth)
    skip_zero_variance_groups: bool = False  # drop all-equal-reward groups from the loss
    gt_column: str = GT_COLUMN


def _json_step(line: str) -> int | None:
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None  # a line cut off by a kill


def _select_rows(inputs: dict, rows: list[int]) -> dict:
    """The multimodal fields of `inputs` for the given rows (pixel values follow their images)."""
    out: dict = {}
    split = split_pixel_values_by_grid({k: inputs[k] for k in ("pixel_values", "image_grid_thw", "num_images")
                                        if k in inputs})
    if "pixel_values" in split:
        picked = {"num_images": [split["num_images"][r] for r in rows]}
        if isinstance(split["pixel_values"], list):
            picked["pixel_values"] = [split["pixel_values"][r] for r in rows]
            if "image_grid_thw" in split:
                picked["image_grid_thw"] = [split["image_grid_thw"][r] for r in rows]
            picked = unsplit_pixel_values_by_grid(picked)
        else:  # one row per sample already
            picked["pixel_values"] = split["pixel_values"][rows]
        out.update(picked)
    return out


class FireRedGRPOTrainer(GRPOTrainer):
    """GRPOTrainer + ground-truth-guided groups, hybrid NLL, zero-variance skipping, learnability curriculum."""

    def __init__(self, *args, off_policy: OffPolicyOptions | None = None,
                 curriculum: CurriculumConfig | None = None, sample_logger=None, samples_per_log: int = 2,
                 rollout_log: str | os.PathLike | None = None, advantage=None, **kwargs):
        self.group_advantage = advantage  # a methods.GroupAdvantage, or None for TRL's GRPO advantages
        # rollout_log: JSONL, one line per rollout batch {"step", "ids"} (page ids in order): the data order,
        # checked by the resume test and useful to see what the curriculum picked.
        self.rollout_log = rollout_log
        self._rollout_log_checked = False
        self.sample_logger = sample_logger  # a metrics_log.MetricsLogger: sample completions -> samples.jsonl
        self.samples_per_log = samples_per_log
        self.off_policy = off_policy or OffPolicyOptions()
        self.curriculum_cfg = curriculum or CurriculumConfig()
        self.curriculum_sampler: CurriculumSampler | None = None
        self._pending_curriculum_state: dict | None = None
        self._round_gts: list | None = None
        self._round_rewards: torch.Tensor | None = None
        self._gt_rows: list[bool] = []
        self._deferred_rng_checkpoint: str | None = None
        dataset = kwargs.get("train_dataset")
        if self.curriculum_cfg.enabled and dataset is not None and ROW_INDEX not in dataset.column_names:
            kwargs["train_dataset"] = dataset.add_column(ROW_INDEX, list(range(len(dataset))))
        super().__init__(*args, **kwargs)
        self.learnability = (LearnabilityStats(len(self.train_dataset), self.curriculum_cfg)
                             if self.curriculum_cfg.enabled else None)

    # ------------------------------------------------------------------ sampling
    def _get_train_sampler(self, dataset=None):
        if self.learnability is None:
            return super()._get_train_sampler(dataset)
        self.curriculum_sampler = CurriculumSampler(
            self.learnability, mini_repeat_count=self.num_generations,
            batch_size=self.args.generation_batch_size // self.num_generations,
            repeat_count=self.num_iterations * self.args.steps_per_generation, seed=self.args.seed)
        if self._pending_curriculum_state is not None:
            self.curriculum_sampler.load_state_dict(self._pending_curriculum_state)
            self._pending_curriculum_state = None
        return self.curriculum_sampler

    # ------------------------------------------------------------------ ground truth tokens
    def _gt_token_ids(self, text: str) -> list[int]:
        ids = self._tokenizer(text, add_special_tokens=False)["input_ids"]
        end = self._tokenizer.convert_tokens_to_ids("<|im_end|>")
        if end is None or end == self._tokenizer.unk_token_id:
            end = self.eos_token_ids[0]
        if len(ids) >= self.max_completion_length:  # cut: no end token, so it counts as truncated
            return ids[: self.max_completion_length]
        return ids + [end]

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        completion_ids, logprobs = super()._generate_single_turn(
            prompt_ids, images, multimodal_fields, num_generations, has_tool_images)
        self._gt_rows = [False] * len(completion_ids)
        if not (self.off_policy.gt_in_group and self.model.training and self._round_gts):
            return completion_ids, logprobs
        g = self.num_generations
        offset = self.accelerator.process_index * len(completion_ids)  # groups are laid out globally
        for i, gt in enumerate(self._round_gts):
            if gt is None or (offset + i) % g != g - 1:
                continue
            ids = self._gt_token_ids(gt)
            completion_ids[i] = ids
            if logprobs is not None:  # vLLM: no sampling log-probs for the GT -> no vLLM IS correction
                logprobs[i] = [None] * len(ids)
            self._gt_rows[i] = True
        return completion_ids, logprobs

    # ------------------------------------------------------------------ rewards, groups
    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._round_rewards = rewards_per_func  # gathered over processes: one row per global completion
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        training = self.model.training
        self._round_gts = [x.get(self.off_policy.gt_column) for x in inputs] if training else None
        self._gt_rows = []
        output = super()._generate_and_score_completions(inputs)
        if not training:
            return output
        self._record_rollout(inputs)
        metrics = self._metrics["train"]
        g = self.num_generations
        per_func = self._round_rewards
        if self.group_advantage is not None:
            self._replace_advantages(output, per_func, len(inputs))
        unscorable = torch.isnan(per_func).all(dim=1)
        totals = (per_func * self.reward_weights.to(per_func.device).unsqueeze(0)).nansum(dim=1)
        totals[unscorable] = torch.nan
        variances = group_variances(totals, g)
        zero_var = torch.isclose(variances.sqrt(), torch.zeros_like(variances))
        metrics["groups/zero_variance_frac"].append(zero_var.float().mean().item())
        n_local = len(inputs)
        local = slice(self.accelerator.process_index * n_local, (self.accelerator.process_index + 1) * n_local)
        row_zero_var = zero_var.repeat_interleave(g)[local].to(output["completion_mask"].device)

        if self.off_policy.skip_zero_variance_groups:
            keep = (~row_zero_var).unsqueeze(1).to(output["completion_mask"].dtype)
            output["completion_mask"] = output["completion_mask"] * keep
            loss_mask = output["completion_mask"]
            if "tool_mask" in output:
                loss_mask = loss_mask * output["tool_mask"]
            output["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()
            metrics["groups/skipped_frac"].append(zero_var.float().mean().item())

        if self.learnability is not None:
            from accelerate.utils import gather_object

            if self.curriculum_sampler is not None:
                self.curriculum_sampler.mark_consumed()
            pages = gather_object([int(x[ROW_INDEX]) for x in inputs])
            for group, variance in enumerate(variances.tolist()):
                self.learnability.observe(pages[group * g], 0.0 if variance != variance else variance)
            probs = self.learnability.probabilities()
            metrics["curriculum/max_page_prob"].append(probs.max().item())
            metrics["curriculum/pages_seen_frac"].append(len(self.learnability.history) / len(probs))

        if self.off_policy.gt_in_group:
            gt_rows = torch.tensor(self._gt_rows or [False] * n_local, dtype=torch.bool)
            output["gt_sample"] = gt_rows.to(output["advantages"].device)
            if gt_rows.any():
                local_totals = totals[local].cpu()
                metrics["gt/reward_mean"].append(torch.nanmean(local_totals[gt_rows]).item())
                metrics["gt/advantage_mean"].append(output["advantages"][gt_rows.to(
                    output["advantages"].device)].float().mean().item())
                sampled = local_totals[~gt_rows]
                if sampled.numel():
                    metrics["gt/sampled_reward_mean"].append(torch.nanmean(sampled).item())

        if self.off_policy.nll_weight > 0:
            self._attach_gt_targets(output, inputs, local.start)
        return output

    def _replace_advantages(self, output: dict, per_func: torch.Tensor, n_local: int) -> None:
        """TRL 1.16 has no advantage hook: swap its GRPO advantages for the configured estimator's, computed on
        the gathered reward matrix (so groups straddling processes are whole); keep this process's slice."""
        advantages, step_metrics = self.group_advantage.compute(per_func)
        start = self.accelerator.process_index * n_local
        old = output["advantages"]
        output["advantages"] = advantages[start:start + n_local].to(old.device, old.dtype)
        for name, value in step_metrics.items():
            self._metrics["train"][name].append(value)
        logged = self._logs["advantages"]  # what samples.jsonl shows: the advantages that train
        for _ in range(min(len(advantages), len(logged))):
            logged.pop()
        logged.extend(advantages.tolist())

    def _record_rollout(self, inputs: list) -> None:
        from accelerate.utils import gather_object

        if self.rollout_log is None:
            return
        ids = gather_object([str(x.get("id", x.get(ROW_INDEX, ""))) for x in inputs])
        if not self.accelerator.is_main_process:
            return
        path = Path(self.rollout_log)
        step = self.state.global_step
        if not self._rollout_log_checked:  # a resumed run redoes the rollouts from its checkpoint on
            self._rollout_log_checked = True
            if path.is_file():
                kept = [line for line in path.read_text(encoding="utf-8").splitlines()
                        if _json_step(line) is not None and _json_step(line) < step]
                path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"step": step, "ids": ids[:: self.num_generations]}) + "\n")

    def _attach_gt_targets(self, output: dict, inputs: list, global_offset: int) -> None:
        """GT token ids/mask per row, and which rows carry their page's NLL (the first row of each group)."""
        g = self.num_generations
        device = output["completion_ids"].device
        seqs, nll_row = [], []
        for i, x in enumerate(inputs):
            gt = x.get(self.off_policy.gt_column)
            seqs.append(self._gt_token_ids(gt) if gt is not None else [])
            nll_row.append(gt is not None and (global_offset + i) % g == 0)
        width = max(1, max(len(s) for s in seqs))
        pad_id = self._tokenizer.pad_token_id
        ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
            mask[i, : len(s)] = 1
        output["gt_ids"] = ids.to(device)
        output["gt_mask"] = mask.to(device)
        output["gt_nll_row"] = torch.tensor(nll_row, dtype=torch.bool, device=device)

    # ------------------------------------------------------------------ loss
    def gt_nll(self, model, inputs, rows: list[int] | None = None) -> torch.Tensor | None:
        """Mean per-token NLL of the ground truth, averaged over the rows flagged `gt_nll_row` (None: none)."""
        if rows is None:
            rows = inputs["gt_nll_row"].nonzero(as_tuple=True)[0].tolist()
        if not rows:
            return None
        gt_mask = inputs["gt_mask"][rows]
        width = max(1, int(gt_mask.sum(dim=1).max().item()))
        gt_ids, gt_mask = inputs["gt_ids"][rows, :width], gt_mask[:, :width]
        prompt_ids, prompt_mask = inputs["prompt_ids"][rows], inputs["prompt_mask"][rows]
        kwargs = _select_rows(inputs, rows)
        if "image_grid_thw" not in inputs and "pixel_values" in inputs and "num_images" not in inputs:
            kwargs["pixel_values"] = inputs["pixel_values"][rows]
        if "mm_token_type_ids" in inputs:
            mm = inputs["mm_token_type_ids"][rows, : prompt_ids.size(1)]
            kwargs["mm_token_type_ids"] = torch.cat([mm, mm.new_zeros(gt_ids.shape)], dim=1)
        if "token_type_ids" in inputs:
            tt = inputs["token_type_ids"][rows, : prompt_ids.size(1)]
            kwargs["token_type_ids"] = torch.cat([tt, tt.new_zeros(gt_ids.shape)], dim=1)
        logps, _, _ = self._get_per_token_logps_and_entropies(
            model, torch.cat([prompt_ids, gt_ids], dim=1), torch.cat([prompt_mask, gt_mask], dim=1),
            gt_ids.size(1), **kwargs)
        per_page = (logps * gt_mask).sum(dim=1) / gt_mask.sum(dim=1).clamp(min=1)
        return -per_page.mean()

    def _compute_loss(self, model, inputs):
        loss = super()._compute_loss(model, inputs)
        if self.off_policy.nll_weight > 0 and "gt_ids" in inputs:
            nll = self.gt_nll(model, inputs)
            if nll is None and self.accelerator.num_processes > 1:
                # Every rank must call the model as often as the others: under DDP each forward syncs buffers
                # across ranks, so a rank whose micro-batch holds no page's NLL row (steps_per_generation > 1
                # shuffles rows into micro-batches) would wait forever. It runs the same forward at weight 0.
                loss = loss + 0.0 * self.gt_nll(model, inputs, rows=[0])
            elif nll is not None:
                mode = "train" if self.model.training else "eval"
                normalizer = self.current_gradient_accumulation_steps if mode == "train" else 1.0
                loss = loss + self.off_policy.nll_weight * nll / normalizer
                self._metrics[mode]["nll_gt"].append(nll.detach().item())
        return loss

    # ------------------------------------------------------------------ logs
    def log(self, logs: dict, start_time: float | None = None) -> None:
        super().log(logs, start_time)
        if ("loss" not in logs or self.sample_logger is None or self.samples_per_log <= 0  # step logs only
                or not self.model.training
                or not self.accelerator.is_main_process or not self._logs["completion"]):
            return
        completions = list(self._logs["completion"])[-self.samples_per_log:]
        advantages = list(self._logs["advantages"])[-self.samples_per_log:]
        rewards = {name: list(values)[-self.samples_per_log:] for name, values in self._logs["rewards"].items()}
        samples = []
        for k, (completion, advantage) in enumerate(zip(completions, advantages)):
            text = completion[-1]["content"] if isinstance(completion, list) else str(completion)
            comps = {name: values[k] for name, values in rewards.items() if k < len(values)}
            total = sum(w * v for w, v in zip(self.reward_weights.tolist(), comps.values()) if v == v)
            samples.append({"id": f"step{self.state.global_step}-{k}", "prediction": text, "total": total,
                            "advantage": advantage, "rewards": comps})
        self.sample_logger.log_samples(self.state.global_step, samples, self.args.report_to)

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self, model, trial):
        # Written before the Trainer's files: trainer_state.json comes last, and a checkpoint counts as
        # complete (latest_checkpoint) only once it exists, so a kill never leaves one without this state.
        if self.curriculum_sampler is not None and self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"checkpoint-{self.state.global_step}")
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, CURRICULUM_STATE), "w") as f:
                json.dump(self.curriculum_sampler.state_dict(), f)
        super()._save_checkpoint(model, trial)

    def _load_rng_state(self, checkpoint):
        # With the curriculum the Trainer does not replay the first batches (ignore_data_skip) and restores
        # the RNG before creating the epoch's dataloader iterator, which draws a seed from the global RNG: the
        # sampling of the first resumed rollout would then differ from the uninterrupted run's. Restore it
        # just before that rollout instead.
        if self.learnability is not None and checkpoint is not None:
            self._deferred_rng_checkpoint = checkpoint
            return
        super()._load_rng_state(checkpoint)

    def training_step(self, model, inputs, num_items_in_batch):
        if self._deferred_rng_checkpoint is not None:
            checkpoint, self._deferred_rng_checkpoint = self._deferred_rng_checkpoint, None
            super()._load_rng_state(checkpoint)
        return super().training_step(model, inputs, num_items_in_batch)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is not None and self.learnability is not None:
            path = os.path.join(checkpoint, CURRICULUM_STATE)
            if os.path.exists(path):
                with open(path) as f:
                    state = json.load(f)
                if self.curriculum_sampler is not None:
                    self.curriculum_sampler.load_state_dict(state)
                else:
                    self._pending_curriculum_state = state
