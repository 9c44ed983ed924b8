"""The GRPO stage: `GRPOStageConfig` (the `grpo:` section of a recipe) and `run_grpo`, its one entry point.

`run_grpo(cfg) -> Path` loads the model (a hub id, a local directory such as an SFT checkpoint, or None for
the embedded tiny checkpoint) and the prepared dataset, builds TRL's `GRPOConfig` from the typed config,
trains `FireRedGRPOTrainer` (TRL's GRPOTrainer plus the project's off-policy options, see
`grpo_trainer.py`) and returns the final checkpoint directory `<output_dir>/final` (model + processor,
loadable by `Predictor`; a LoRA run writes the adapter there, with `base_model_name_or_path` set).

Time budget: `max_seconds` stops training after that much wall time (counted from the first step, not
model loading) and still writes a checkpoint and `final/`; `max_steps` bounds it too, whichever comes
first. The demo uses this to give GRPO and its SFT control the same wall time.

Resume: `resume: auto` (default) continues from the newest complete `checkpoint-N` in `output_dir` (model,
optimizer, scheduler, RNG states, data position: Trainer replays the sampler to the same point); `never`
starts fresh; a path resumes from that checkpoint.

Multi-GPU: launch the same command under `accelerate launch` (DDP) with an accelerate config
(`configs/accelerate/ddp.yaml`, `deepspeed_zero2.yaml`, `deepspeed_zero3.yaml`; `deepspeed:` then stays null);
every process builds the same config. Any `GRPOConfig` key not modelled here goes in `trl_args:`.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rewards.components import GRPO_DEFAULT_WEIGHTS

from firered_ocr.training.curriculum import CurriculumConfig
from firered_ocr.training.data import DataConfig
from firered_ocr.training.checkpoints import resume_checkpoint
from firered_ocr.training.lora import LoraSettings
from firered_ocr.training.methods.curator.config import CuratorConfig
from firered_ocr.training.methods.maxrl import MaxRLConfig
from firered_ocr.training.methods.prosper import ProsperConfig

log = logging.getLogger(__name__)

ROLLOUTS_FILE = "rollouts.jsonl"  # page ids of each rollout batch, in order (the data order)
DEFAULT_REWARDS = dict(GRPO_DEFAULT_WEIGHTS)  # declared with each component in rewards/components.py


@dataclasses.dataclass
class GRPOStageConfig:
    """Every key of a recipe's `grpo:` section. TRL names are kept where they exist (see TRL's GRPOConfig)."""

    model: str | None = None  # hub id, local dir (e.g. the SFT checkpoint), None = embedded tiny checkpoint
    attn_implementation: str | None = None  # e.g. flash_attention_2 where installed; None = transformers' default
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    output_dir: str = "runs/grpo"
    rewards: dict[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_REWARDS))
    # Rollouts
    num_generations: int = 8  # G completions per page
    per_device_train_batch_size: int = 8  # completions (not pages) per device per micro-step
    gradient_accumulation_steps: int = 1
    steps_per_generation: int | None = None  # None = gradient_accumulation_steps (TRL's default)
    max_completion_length: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    # Objective
    loss_type: str = "dapo"  # grpo | dapo | dr_grpo | bnpo | cispo | sapo | luspo | vespo (TRL)
    beta: float = 0.0  # KL coefficient to the reference model (0: no reference model is loaded)
    epsilon: float = 0.2
    epsilon_high: float | None = None  # None = epsilon (symmetric clip); DAPO uses 0.28
    scale_rewards: str = "group"  # group | batch | none
    multi_objective_aggregation: str = "sum_then_normalize"  # or normalize_then_sum (GDPO)
    mask_truncated_completions: bool = False
    # Off-policy options (exact semantics: grpo_trainer.py and docs/training.md, "Options")
    num_iterations: int = 1  # updates per rollout batch
    importance_sampling_level: str = "token"  # token | sequence (GSPO)
    gt_in_group: bool = False
    # lambda of the SFT-anchored GRPO term: loss += lambda * NLL of the ground truth (an SFT anchor, not MaxRL)
    nll_weight: float = 0.0
    skip_zero_variance_groups: bool = False
    curriculum: CurriculumConfig = dataclasses.field(default_factory=CurriculumConfig)
    curator: CuratorConfig = dataclasses.field(default_factory=CuratorConfig)  # Actor-Curator (docs/methods.md)
    # Group advantage (docs/methods.md): grpo (TRL's) | maxrl | maxrl_ustat | prosper
    advantage: str = "grpo"
    maxrl: MaxRLConfig = dataclasses.field(default_factory=MaxRLConfig)
    prosper: ProsperConfig = dataclasses.field(default_factory=ProsperConfig)
    # Optimisation
    learning_rate: float = 1e-6
    lr_scheduler_type: str = "constant"
    warmup_steps: float = 0  # an int is steps, a float < 1 a fraction of the run
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_steps: int = -1  # -1 = num_train_epochs
    num_train_epochs: float = 1.0
    max_seconds: float | None = None  # wall-time budget for training; None = none
    seed: int = 0
    # torch intra-op threads on CPU (None = torch's default). On this shared 2-core machine a tiny-model GRPO
    # step took 0.6 s with 1 thread and 3-8 s with 2 (measured; OpenMP threads spin when the cores are busy).
    cpu_threads: int | None = None
    # Scale
    bf16: bool | None = None  # None = on when a bf16-capable GPU is present
    gradient_checkpointing: bool = False
    use_vllm: bool = False  # needs the `vllm` extra
    vllm_mode: str = "colocate"  # colocate | server
    vllm_gpu_memory_utilization: float = 0.3
    deepspeed: str | None = None  # path to a DeepSpeed JSON config (run under accelerate launch/deepspeed)
    lora: LoraSettings = dataclasses.field(default_factory=LoraSettings)
    # Checkpoints, logs
    save_steps: int = 100
    save_total_limit: int | None = 3
    resume: str = "auto"  # auto (last checkpoint if any) | true (must resume) | never/false | <checkpoint dir>
    logging_steps: int = 1
    report_to: list[str] = dataclasses.field(default_factory=lambda: ["tensorboard"])
    log_completions: bool = False  # TRL's rich table of completions on stdout at each log
    samples_per_log: int = 2  # sample completions written to samples.jsonl at each log
    disable_tqdm: bool = False  # the progress bar (with ETA)
    write_plots: bool = True  # curves.png and reward_curves.png at the end (seconds of matplotlib on a CPU)
    trl_args: dict[str, Any] = dataclasses.field(default_factory=dict)  # any other GRPOConfig key, verbatim


# Keys of GRPOStageConfig passed to TRL's GRPOConfig under the same name.
_SAME_NAME_KEYS = (
    "output_dir", "num_generations", "per_device_train_batch_size", "gradient_accumulation_steps",
    "steps_per_generation", "max_completion_length", "temperature", "top_p", "loss_type", "beta", "epsilon",
    "epsilon_high", "scale_rewards", "multi_objective_aggregation", "mask_truncated_completions",
    "num_iterations", "importance_sampling_level", "learning_rate", "lr_scheduler_type", "warmup_steps",
    "weight_decay", "max_grad_norm", "max_steps", "num_train_epochs", "seed", "use_vllm", "deepspeed",
    "save_steps", "save_total_limit", "logging_steps", "report_to", "log_completions", "disable_tqdm",
)


class GRPOConfigError(ValueError):
    """A `grpo:` section that cannot run; the message names the key."""


def load_grpo_config(path: str | Path | None, overrides: list[str] | None = None) -> GRPOStageConfig:
    from firered_ocr.config_io import load_config

    return load_config(GRPOStageConfig, path, overrides, section="grpo" if path is not None else None)


def _bf16(cfg: GRPOStageConfig) -> bool:
    if cfg.bf16 is not None:
        return cfg.bf16
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def build_grpo_args(cfg: GRPOStageConfig, reward_weights: list[float]):
    """TRL's `GRPOConfig` for this stage config."""
    import torch
    from trl import GRPOConfig

    if cfg.num_generations < 2:
        raise GRPOConfigError("grpo.num_generations: must be >= 2 (advantages are relative to the group)")
    if cfg.importance_sampling_level not in ("token", "sequence"):
        raise GRPOConfigError(f"grpo.importance_sampling_level: 'token' or 'sequence', not "
                              f"{cfg.importance_sampling_level!r}")
    if cfg.nll_weight < 0:
        raise GRPOConfigError(f"grpo.nll_weight: must be >= 0, not {cfg.nll_weight}")
    if cfg.curator.enabled:
        if cfg.curriculum.enabled:
            raise GRPOConfigError("grpo.curator.enabled and grpo.curriculum.enabled: both choose the pages; "
                                  "enable one of them")
        try:
            cfg.curator.check()
        except ValueError as exc:
            raise GRPOConfigError(str(exc)) from None
    from firered_ocr.training.methods.advantages import ADVANTAGES
    from firered_ocr.training.methods.vespo import vespo_vllm_problem

    if cfg.advantage not in ADVANTAGES:
        raise GRPOConfigError(f"grpo.advantage: one of {', '.join(ADVANTAGES)}, not {cfg.advantage!r}")
    if cfg.advantage != "grpo" and cfg.multi_objective_aggregation != "sum_then_normalize":
        raise GRPOConfigError(f"grpo.multi_objective_aggregation: {cfg.multi_objective_aggregation} shapes only "
                              f"TRL's GRPO advantages; advantage: {cfg.advantage} computes its own, so it would be "
                              f"ignored (leave it at sum_then_normalize)")
    vespo_problem = vespo_vllm_problem(cfg.loss_type, cfg.use_vllm, cfg.trl_args)
    if vespo_problem:
        raise GRPOConfigError(vespo_problem)
    if cfg.use_vllm:
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            raise GRPOConfigError("grpo.use_vllm: vLLM is not installed (pip install 'firered-ocr[vllm]'), "
                                  "or set use_vllm=false to generate with transformers")
    bf16 = _bf16(cfg)
    on_cpu = not torch.cuda.is_available()
    kwargs: dict[str, Any] = {name: getattr(cfg, name) for name in _SAME_NAME_KEYS}
    kwargs.update(
        reward_weights=reward_weights,
        data_seed=cfg.seed,
        bf16=bf16,
        use_cpu=on_cpu,
        save_strategy="steps",
        remove_unused_columns=False,  # the ground truth must reach the rewards
        # The curriculum sampler restores its own position from the checkpoint; the Trainer's replay of the
        # first batches would draw (and so shift) its blocks.
        ignore_data_skip=cfg.curriculum.enabled or cfg.curator.enabled,
        model_init_kwargs={"dtype": "bfloat16" if bf16 else "float32"},
    )
    if cfg.attn_implementation:
        kwargs["model_init_kwargs"]["attn_implementation"] = cfg.attn_implementation
    if cfg.epsilon_high is None:
        kwargs.pop("epsilon_high")
    if cfg.steps_per_generation is None:
        kwargs.pop("steps_per_generation")
    if cfg.gradient_checkpointing:  # passed only when on: transformers 5 warns about the key itself
        kwargs["gradient_checkpointing"] = True
    if cfg.use_vllm:
        kwargs.update(vllm_mode=cfg.vllm_mode, vllm_gpu_memory_utilization=cfg.vllm_gpu_memory_utilization)
    clash = sorted(set(cfg.trl_args) & set(kwargs))
    if clash:
        raise GRPOConfigError(f"grpo.trl_args: {', '.join(clash)} are first-class keys of the grpo section; "
                              f"set them there")
    kwargs.update(cfg.trl_args)
    try:
        return GRPOConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise GRPOConfigError(f"grpo: TRL rejects this configuration: {exc}") from None


def _peft_config(cfg: GRPOStageConfig):
    return cfg.lora.peft_config() if cfg.lora.enabled else None


def build_trainer(cfg: GRPOStageConfig, train_dataset=None, callbacks: list | None = None,
                  reward_registry: Mapping[str, Callable] | None = None):
    """The configured `FireRedGRPOTrainer` (dataset from `cfg.data` unless one is given) and its metrics logger.

    `reward_registry` replaces `rewards.REWARD_FUNCS` (same signature: name -> batch fn(texts, gts)).
    """
    from firered_ocr.model_loading import LoadConfig, load_processor, locate, resolve_model_path
    from firered_ocr.training.data import load_chat_split
    from firered_ocr.training.grpo_callbacks import GRPOMetricsLogger
    from firered_ocr.training.sft import TimeBudget
    from firered_ocr.training.grpo_trainer import FireRedGRPOTrainer, OffPolicyOptions
    from firered_ocr.training.reward_wiring import build_reward_funcs

    if cfg.cpu_threads:
        import torch

        torch.set_num_threads(cfg.cpu_threads)
    funcs, weights = build_reward_funcs(cfg.rewards, funcs=reward_registry,
                                        max_completion_length=cfg.max_completion_length)
    args = build_grpo_args(cfg, weights)
    advantage = None
    if cfg.advantage != "grpo":
        from firered_ocr.training.methods.advantages import AdvantageConfigError, GroupAdvantage

        try:
            advantage = GroupAdvantage(cfg.advantage, [f.__name__ for f in funcs], weights, cfg.num_generations,
                                       maxrl=cfg.maxrl, prosper=cfg.prosper)
        except (AdvantageConfigError, ValueError) as exc:
            raise GRPOConfigError(str(exc)) from None
    path, adapter = resolve_model_path(LoadConfig(model=cfg.model))
    if adapter:
        raise GRPOConfigError(f"grpo.model: {cfg.model} is a LoRA adapter; merge it first or give its base "
                              f"model and set lora.enabled")
    path = locate(path)
    processor = load_processor(path)
    if train_dataset is None:
        train_dataset = load_chat_split(cfg.data, cfg.data.train_split, purpose="grpo")  # partial labels: label-free
    metrics = GRPOMetricsLogger(cfg.output_dir, title=f"GRPO {Path(cfg.output_dir).name}", plot=cfg.write_plots)
    all_callbacks = [metrics, *(callbacks or [])]
    budget = TimeBudget(cfg.max_seconds) if cfg.max_seconds is not None else None
    if budget is not None:
        all_callbacks.append(budget)  # checked after each step; saves on stop
    trainer_cls, method_kwargs = FireRedGRPOTrainer, {}
    if cfg.curator.enabled:
        from firered_ocr.training.methods.curator.features import page_features
        from firered_ocr.training.methods.curator.trainer import ActorCuratorGRPOTrainer

        trainer_cls = ActorCuratorGRPOTrainer
        method_kwargs = {"curator": cfg.curator,
                         "page_features": page_features(train_dataset, cfg.data.path, cfg.data.train_split)}
    trainer = trainer_cls(
        model=path, reward_funcs=funcs, args=args, train_dataset=train_dataset, processing_class=processor,
        callbacks=all_callbacks, peft_config=_peft_config(cfg),
        off_policy=OffPolicyOptions(gt_in_group=cfg.gt_in_group, nll_weight=cfg.nll_weight,
                                    skip_zero_variance_groups=cfg.skip_zero_variance_groups),
        curriculum=cfg.curriculum, advantage=advantage, sample_logger=metrics, samples_per_log=cfg.samples_per_log,
        rollout_log=Path(cfg.output_dir) / ROLLOUTS_FILE, **method_kwargs)
    if budget is not None:
        budget.without_step_bar(trainer)
    return trainer, metrics


def _resume_point(cfg: GRPOStageConfig) -> str | None:
    try:
        return resume_checkpoint(cfg.output_dir, cfg.resume)
    except FileNotFoundError as exc:
        raise GRPOConfigError(f"grpo.resume: {exc}") from None


def run_grpo(cfg: GRPOStageConfig, train_dataset=None, callbacks: list | None = None,
             reward_registry: Mapping[str, Callable] | None = None) -> Path:
    """Train; return `<output_dir>/final` (model + processor, or the LoRA adapter).

    `train_dataset` (optional) replaces `cfg.data`: TRL rows with `prompt` (chat form), `image` and
    `ground_truth`, as `data.to_chat_rows` makes them. `cfg.max_seconds` bounds the training wall time.
    `callbacks` are extra transformers TrainerCallbacks; `reward_registry` replaces `rewards.REWARD_FUNCS`.
    """
    from firered_ocr.training.grpo_callbacks import curve_keys
    from firered_ocr.training.metrics_log import plot_curves, read_jsonl

    trainer, metrics = build_trainer(cfg, train_dataset, callbacks, reward_registry)
    resume = _resume_point(cfg)
    if resume:
        log.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=resume)
    final = Path(cfg.output_dir) / "final"
    trainer.save_model(str(final))
    if trainer.accelerator.is_main_process:
        trainer.processing_class.save_pretrained(str(final))
        (final / "grpo_stage_config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
        if cfg.write_plots:
            rows = read_jsonl(metrics.metrics_path)
            keys = [k for k in curve_keys(rows) if k.startswith("reward")]
            plot_curves(rows, Path(cfg.output_dir) / "reward_curves.png", keys=keys, title="GRPO rewards")
    return final
