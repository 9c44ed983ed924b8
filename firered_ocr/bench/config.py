"""The typed config of `firered-ocr bench methods` and its arms (recipe fragments).

An arm is a small YAML file (configs/bench_arms/NAME.yaml): a `name`, a `label`, a `kind` (`grpo`, or `sft`
for the supervised control) and, for GRPO, a `grpo:` mapping laid over the bench's base GRPO settings (any
key of the `grpo:` section of a recipe: `num_iterations`, `loss_type`, `advantage`, ...). Users add an arm by
adding a file and naming it in `arms:`.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from firered_ocr.config_io import ConfigError, from_dict, read_yaml_mapping

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@dataclasses.dataclass
class TaskConfig:
    """The CPU task: data_prep's tiny-tables profile with merged cells and short display formulas."""

    seed: int = 0  # the corpus is the same for every training seed
    n_pages: int = 1400
    val_fraction: float = 0.06
    profile: dict = dataclasses.field(default_factory=lambda: {
        "width_pt": 128.0, "height_pt": 176.0, "font_size_pt": 20.0, "rows": "2,4", "cols": "2,2",
        "digits": "1,2", "merged_share": 0.4, "formula_share": 0.6})
    regimes: list[str] = dataclasses.field(default_factory=lambda: ["exact", "silver"])


@dataclasses.dataclass
class ArmConfig:
    name: str
    label: str = ""
    kind: str = "grpo"  # grpo | sft
    grpo: dict = dataclasses.field(default_factory=dict)  # laid over BenchMethodsConfig.grpo_base
    sft_lr: float | None = None  # sft arms: constant lr (None: the SFT's final lr, sft_lr x 0.1)


@dataclasses.dataclass
class BenchMethodsConfig:
    out: str = "runs/bench-methods"
    seeds: int = 3
    cpu_threads: int = 1  # one thread per process: 2 OpenMP threads on 2 shared cores ran 10-20x slower
    task: TaskConfig = dataclasses.field(default_factory=TaskConfig)
    # The shared SFT checkpoint: one per regime, shared by every seed's arms (seeds then vary the RL runs:
    # rollouts and data order); true trains one per seed too (seed-to-seed SFT variance enters the intervals)
    sft_per_seed: bool = False
    sft_steps: int = 500
    sft_lr: float = 1e-3
    sft_warmup: int = 100
    sft_batch: int = 32
    # Every arm
    arm_seconds: float = 90.0  # training wall time per arm (evaluation time excluded)
    eval_every_seconds: float = 30.0  # held-out greedy evaluation during training, for the curves
    eval_pages: int = 64
    max_new_tokens: int = 96  # the longest answer (4x3 table and a formula) is about 70 tokens
    grpo_base: dict = dataclasses.field(default_factory=lambda: {
        "num_generations": 8, "per_device_train_batch_size": 32, "learning_rate": 2e-4, "temperature": 1.0,
        "rewards": {"table_validity": 1.0, "formula_validity": 1.0, "formula_count": 0.5, "teds_s": 0.5, "teds": 0.5,
                    "tag_closure": 0.5, "no_truncation": 0.5}})
    arms: list[str] = dataclasses.field(default_factory=list)  # names in arms_dir, or paths to YAML files
    arms_dir: str = str(REPO_CONFIGS / "bench_arms")
    quick_arms: list[str] = dataclasses.field(default_factory=list)  # the main arms, for --quick
    # The plain method every other RL arm must beat: the report adds each arm's paired difference from it
    # ("does PROSPER beat GRPO?" is the user's question, not "does it beat more SFT?"); "" turns it off
    rl_baseline: str = "grpo_onpolicy"


def load_arm(ref: str, arms_dir: str | Path) -> ArmConfig:
    path = Path(ref) if ref.endswith((".yaml", ".yml")) else Path(arms_dir) / f"{ref}.yaml"
    arm = from_dict(ArmConfig, read_yaml_mapping(path, "arm file"), where=str(path))
    if arm.kind not in ("grpo", "sft"):
        raise ConfigError(f"{path}: kind must be grpo or sft, not {arm.kind!r}")
    if arm.kind == "sft" and arm.grpo:
        raise ConfigError(f"{path}: an sft arm takes no grpo: settings")
    arm.label = arm.label or arm.name
    return arm
