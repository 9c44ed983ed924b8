"""LoRA settings shared by SFT and GRPO, and the peft config they become."""
from __future__ import annotations

import dataclasses
import re


@dataclasses.dataclass
class LoraSettings:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    # The language model's projections; the vision tower stays frozen under LoRA (as in olmOCR's LoRA runs).
    target_modules: list[str] = dataclasses.field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])

    def peft_config(self):
        from peft import LoraConfig

        # Anchored on the language model: the vision tower's modules share some names (e.g. qkv).
        pattern = r".*language_model.*\.(" + "|".join(map(re.escape, self.target_modules)) + r")$"
        return LoraConfig(r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout,
                          target_modules=pattern, task_type="CAUSAL_LM")
