"""Supervised fine-tuning (FireRed-OCR stage 2) on a prepared dataset, built on transformers' `Trainer`.

Trainer gives us, unchanged: DDP under `accelerate launch`/`torchrun`, DeepSpeed from a config file,
gradient accumulation with loss normalised over answer tokens, mixed precision, and resumable checkpoints
(model, optimizer, scheduler, RNG states and the data position, so a resumed run sees the same batches in
the same order). We add the multimodal collator (`sft_collator`), validation with the project's scorer
(`validation`), the metrics JSONL/PNG (`metrics_log`), optional LoRA (peft) and a wall-time budget.

Checkpoints are `save_pretrained` folders with the processor beside the weights (`checkpoint-N/`, and
`final/` at the end), so `firered-ocr predict --model DIR` and the app load them directly.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from transformers import TrainerCallback

from firered_ocr.model_loading import LoadConfig
from firered_ocr.training.data import DataConfig
from firered_ocr.training.checkpoints import resume_checkpoint
from firered_ocr.training.lora import LoraSettings
from firered_ocr.training.validation import ValidationConfig

FINAL_DIR = "final"


@dataclasses.dataclass
class OptimConfig:
    learning_rate: float = 1e-5
    min_lr_ratio: float = 0.1  # cosine decays to this fraction of learning_rate
    scheduler: str = "cosine"  # "cosine" (to min_lr_ratio), "constant", "linear"
    warmup_steps: float = 0.0  # steps; a value in (0, 1) is a fraction of the total steps
    per_device_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    max_steps: int = -1  # > 0 overrides num_epochs
    num_epochs: float = 1.0
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    bf16: bool | None = None  # None = on where the GPU supports it; always off on CPU
    gradient_checkpointing: bool = False
    freeze_vision: bool = False  # train only the language model and the merger


@dataclasses.dataclass
class SFTLoraSettings(LoraSettings):
    merge_final: bool = True  # write final/ as a merged full model (the adapter goes to final-adapter/)


@dataclasses.dataclass
class SFTConfig:
    model: LoadConfig = dataclasses.field(default_factory=LoadConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    lora: SFTLoraSettings = dataclasses.field(default_factory=SFTLoraSettings)
    validation: ValidationConfig = dataclasses.field(default_factory=ValidationConfig)
    output_dir: str = "runs/sft"
    max_length: int | None = None  # prompt + answer tokens per page; None = no cap
    save_steps: int = 500
    save_total_limit: int | None = 3
    logging_steps: int = 10
    seed: int = 0
    report_to: list[str] = dataclasses.field(default_factory=lambda: ["tensorboard"])
    resume: str = "auto"  # auto: resume from the last checkpoint if any; true: must resume; false; or a path
    max_train_seconds: float | None = None  # stop (and save) after this much training wall time
    dataloader_num_workers: int = 0
    deepspeed: str | None = None  # a DeepSpeed JSON/YAML config (configs/accelerate/*.yaml name theirs)
    ddp_find_unused_parameters: bool | None = None
    # torch intra-op threads (None = torch's default). On a shared 2-core CPU, 1 thread ran a tiny-model step
    # 10-20x faster than 2 (OpenMP spin-waits when other processes hold the cores).
    cpu_threads: int | None = None


class TimeBudget(TrainerCallback):
    """Stop training after `seconds` of wall time (the demo's GRPO and control runs use it).

    It also draws the progress bar over the budget: under a time budget the Trainer's own bar counts to a
    placeholder `max_steps` and its ETA means nothing, so `without_step_bar` removes that one.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = None
        self.bar = None

    def without_step_bar(self, trainer) -> None:
        from transformers.trainer_callback import ProgressCallback

        trainer.remove_callback(ProgressCallback)

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()
        if state.is_world_process_zero and not args.disable_tqdm:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=max(1, round(self.seconds)), unit="s", desc="training (time budget)")

    def on_step_end(self, args, state, control, **kwargs):
        elapsed = time.perf_counter() - self.start
        if self.bar is not None:
            self.bar.n = min(round(elapsed), self.bar.total)
            self.bar.set_postfix(step=state.global_step, refresh=True)
        if elapsed >= self.seconds:
            control.should_training_stop = True
            control.should_save = True

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def load_for_training(cfg: LoadConfig):
    """(model, processor) on the CPU in the training dtype; Trainer moves the model to each rank's device.

    fp32 master weights by default (mixed precision comes from Trainer's bf16); a recipe may ask for bf16.
    A LoRA adapter (named, or the model path itself) is loaded trainable, to continue training it.
    """
    from firered_ocr.model_loading import load_model_and_processor, resolve_model_path

    path, adapter = resolve_model_path(cfg)
    base = dataclasses.replace(cfg, model=path, adapter=None, device="cpu", dtype=cfg.dtype or "float32")
    model, processor, _ = load_model_and_processor(base)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter, is_trainable=True)
    model.train()
    return model, processor


def _apply_lora(model, lora: LoraSettings):
    from peft import get_peft_model

    return get_peft_model(model, lora.peft_config())


def _freeze_vision(model) -> int:
    """Freeze the vision tower's own blocks (keep the merger that feeds the language model trainable)."""
    frozen = 0
    for name, param in model.named_parameters():
        if ".visual." in f".{name}" and "merger" not in name:
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen


def training_arguments(cfg: SFTConfig, **extra):
    """transformers `TrainingArguments` for a stage config (GRPO builds its own from the same fields)."""
    import torch
    from transformers import TrainingArguments

    o = cfg.optim
    cuda = torch.cuda.is_available()
    bf16 = (cuda and torch.cuda.is_bf16_supported()) if o.bf16 is None else (o.bf16 and cuda)
    scheduler = {"cosine": "cosine_with_min_lr", "constant": "constant_with_warmup", "linear": "linear"}
    if o.scheduler not in scheduler:
        raise ValueError(f"optim.scheduler: {o.scheduler!r} is not one of {', '.join(scheduler)}")
    kwargs = dict(
        output_dir=cfg.output_dir,
        per_device_train_batch_size=o.per_device_batch_size,
        gradient_accumulation_steps=o.gradient_accumulation_steps,
        learning_rate=o.learning_rate,
        lr_scheduler_type=scheduler[o.scheduler],
        lr_scheduler_kwargs={"min_lr_rate": o.min_lr_ratio} if o.scheduler == "cosine" else None,
        warmup_steps=o.warmup_steps,
        max_steps=o.max_steps,
        num_train_epochs=o.num_epochs,
        max_grad_norm=o.max_grad_norm,
        weight_decay=o.weight_decay,
        adam_beta1=o.adam_beta1,
        adam_beta2=o.adam_beta2,
        bf16=bf16,
        use_cpu=not cuda,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to=list(cfg.report_to) or "none",
        remove_unused_columns=False,  # the collator needs the image and ground-truth columns
        dataloader_num_workers=cfg.dataloader_num_workers,
        dataloader_pin_memory=cuda,
        deepspeed=cfg.deepspeed,
        ddp_find_unused_parameters=cfg.ddp_find_unused_parameters,
    )
    if o.gradient_checkpointing:  # passed only when on: transformers 5 warns about the key itself
        kwargs["gradient_checkpointing"] = True
    kwargs.update(extra)
    return TrainingArguments(**kwargs)


def run_sft(cfg: SFTConfig, log=print, callbacks: list | None = None) -> dict:
    """Train, save `final/`, return a summary (also written to `<output_dir>/sft_summary.json`).

    `callbacks`: extra `TrainerCallback`s (run before the metrics logger).
    """
    from transformers import Trainer, set_seed

    from firered_ocr.training.data import load_chat_split
    from firered_ocr.training.metrics_log import MetricsLogger
    from firered_ocr.training.sft_collator import SFTCollator
    from firered_ocr.training.validation import ValidationCallback

    if not cfg.data.path:
        raise ValueError("data.path is not set: point it at a dataset folder from `firered-ocr prep`")
    out = Path(cfg.output_dir)
    resume_from = resume_checkpoint(out, cfg.resume)
    if cfg.cpu_threads:
        import torch

        torch.set_num_threads(cfg.cpu_threads)
    set_seed(cfg.seed)
    train_rows = load_chat_split(cfg.data, cfg.data.train_split)
    val_rows = load_chat_split(cfg.data, cfg.data.eval_split) if cfg.validation.n_pages > 0 else None

    model, processor = load_for_training(cfg.model)
    if cfg.optim.freeze_vision:
        log(f"vision tower frozen ({_freeze_vision(model):,} parameters)")
    if cfg.lora.enabled and not hasattr(model, "peft_config"):
        model = _apply_lora(model, cfg.lora)
    if cfg.optim.gradient_checkpointing:
        model.config.use_cache = False
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    log(f"SFT: {len(train_rows)} training pages, {trainable:,} of {total:,} parameters trainable"
        + (f", resuming from {resume_from}" if resume_from else ""))

    metrics = MetricsLogger(out, title=f"SFT {out.name}")
    callbacks = list(callbacks or [])
    validation = None
    if val_rows is not None:
        validation = ValidationCallback(cfg.validation, val_rows, processor, instruction=cfg.data.instruction,
                                        metrics_logger=metrics)
        callbacks.append(validation)  # before the logger: the last validation is in the PNG
    budget = TimeBudget(cfg.max_train_seconds) if cfg.max_train_seconds else None
    if budget is not None:
        callbacks.append(budget)
    callbacks.append(metrics)

    args = training_arguments(cfg)
    collator = SFTCollator(processor, instruction=cfg.data.instruction, max_length=cfg.max_length)
    trainer = Trainer(model=model, args=args, train_dataset=train_rows, data_collator=collator,
                      processing_class=processor, callbacks=callbacks)
    if budget is not None:
        budget.without_step_bar(trainer)
    if validation is not None:
        validation.attach(trainer)
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.perf_counter() - t0
    final = save_final(trainer, processor, out, cfg.lora)
    summary = {"final_dir": str(final), "global_step": trainer.state.global_step,
               "train_loss": result.training_loss, "train_seconds": round(seconds, 2),
               "resumed_from": resume_from, "trainable_parameters": trainable,
               "validation": validation.history if validation is not None else []}
    if trainer.is_world_process_zero():
        (out / "sft_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"SFT done: {summary['global_step']} steps in {seconds:.1f} s, final checkpoint {final}")
    return summary


def save_final(trainer, processor, out: Path, lora: LoraSettings) -> Path:
    """`final/`: a full `save_pretrained` model + processor (LoRA merged if asked, adapter kept beside)."""
    final = out / FINAL_DIR
    model = trainer.model
    if hasattr(model, "peft_config") and lora.merge_final:
        trainer.save_model(str(out / "final-adapter"))
        if trainer.is_world_process_zero():
            merged = model.merge_and_unload() if not trainer.is_deepspeed_enabled else None
            if merged is not None:
                merged.save_pretrained(final)
                processor.save_pretrained(final)
        return final
    trainer.save_model(str(final))  # gathers ZeRO-3 shards; processor saved beside (processing_class)
    return final
