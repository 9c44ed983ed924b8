"""Published RL methods on top of TRL's GRPO: MaxRL and its U-statistic (`maxrl.py`), PROSPER (`prosper.py`),
the advantage switch that plugs them into the trainer (`advantages.py`), and the VESPO guard (`vespo.py`).
See docs/methods.md."""
from firered_ocr.training.methods.advantages import ADVANTAGES, AdvantageConfigError, GroupAdvantage, total_reward
from firered_ocr.training.methods.maxrl import (MaxRLConfig, MaxRLRewardError, maxrl_advantages,
                                                maxrl_ustat_advantages, success_events)
from firered_ocr.training.methods.prosper import ProsperConfig, group_game, preferences, prosper_advantages
from firered_ocr.training.methods.vespo import vespo_vllm_problem

__all__ = ["ADVANTAGES", "AdvantageConfigError", "GroupAdvantage", "MaxRLConfig", "MaxRLRewardError",
           "ProsperConfig", "group_game", "maxrl_advantages", "maxrl_ustat_advantages", "preferences",
           "prosper_advantages", "success_events", "total_reward", "vespo_vllm_problem"]
