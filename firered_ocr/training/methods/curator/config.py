"""`CuratorConfig`: the `grpo.curator:` section (Actor-Curator page selection; off unless `enabled`).

Defaults marked "paper" come from arXiv 2602.20532 / its first author's verl fork; the rest are our choices
for a small feature-based curator (see docs/methods.md, "Actor-Curator").
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class CuratorConfig:
    enabled: bool = False
    # Candidate pool per generation batch = pool_factor x pages per batch, capped at the dataset size
    # (the fork draws 2048 candidates for 256 chosen problems: a factor of 8).
    pool_factor: float = 8.0
    alpha: float = 0.1  # uniform floor: p = (1 - alpha) softmax(s / tau) + alpha / n  (the fork anneals 0.01 -> 0.2)
    temperature: float = 1.0  # tau of the softmax over curator scores
    clip_epsilon: float = 0.2  # PPO clip of p_curator / p_sampled (paper/fork: 0.2)
    replay_steps: int = 4  # generation batches kept in the replay buffer (ours: the fork keeps "recent steps")
    updates_per_step: int = 4  # curator gradient steps per measured generation batch (ours)
    learning_rate: float = 3e-3  # Adam on the curator (ours; the fork's 1e-6 is for a 0.6B language-model curator)
    hidden_size: int = 32  # one hidden layer of this width; 0 = a linear scorer
    seed: int = 0  # curator weights and its sampling stream (identical on every rank)
    # Optional frozen page embedding appended to the features: an .npz with `ids` (page ids) and `vectors`
    # (one row per id), e.g. a frozen vision encoder's pooled page embedding computed offline. None = none.
    embedding: str | None = None

    def check(self) -> None:
        """Raise ValueError naming the key for values that cannot work."""
        if self.pool_factor < 1:
            raise ValueError(f"grpo.curator.pool_factor: must be >= 1 (a pool at least the batch), not {self.pool_factor}")
        if not 0 < self.alpha <= 1:
            raise ValueError(f"grpo.curator.alpha: must be in (0, 1] (a floor that keeps every page possible), "
                             f"not {self.alpha}")
        if self.temperature <= 0:
            raise ValueError(f"grpo.curator.temperature: must be > 0, not {self.temperature}")
        if not 0 < self.clip_epsilon < 1:
            raise ValueError(f"grpo.curator.clip_epsilon: must be in (0, 1), not {self.clip_epsilon}")
        if self.replay_steps < 1 or self.updates_per_step < 1:
            raise ValueError("grpo.curator.replay_steps and updates_per_step: must be >= 1")
        if self.learning_rate <= 0 or self.hidden_size < 0:
            raise ValueError("grpo.curator.learning_rate: must be > 0; hidden_size: must be >= 0")
