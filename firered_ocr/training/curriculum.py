"""A learnability curriculum: sample pages in proportion to how much GRPO can still learn from them.

GRPO learns only from groups whose rewards differ: a page whose G completions all score the same (all
perfect, or all hopeless) gives every completion advantage 0 and costs a full rollout for nothing. The
curriculum keeps, per page, the reward variance of its most recent groups and draws pages with
probability proportional to

    score(page) = floor + mean variance over its last `window` groups   (pages never seen: `unseen_score`)

so pages with high reward variance come back more often and pages whose recent groups were all equal
(zero variance) fall to the `floor` weight: down-weighted, never excluded (a page the model has mastered
may be forgotten later and must be able to return). `unseen_score` is high by default so that every page
is tried early.

`CurriculumSampler` has the batch structure TRL's `RepeatSampler` has (each drawn page repeated
`mini_repeat_count` = G times in a row; each block of `batch_size` pages repeated `repeat_count` times for
`num_iterations` x `steps_per_generation`), so it is a drop-in replacement; within one block the pages are
distinct (drawn without replacement). Its state (scores, random generator, and the blocks the dataloader
drew ahead but that were not trained on yet) is saved in each checkpoint, so a resumed run draws the same
pages as an uninterrupted one (the trainer turns off the Trainer's batch skipping for this sampler).
"""
from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


@dataclasses.dataclass
class CurriculumConfig:
    enabled: bool = False
    window: int = 4  # how many recent groups of a page its score averages
    floor: float = 0.01  # weight of a page whose recent groups had zero reward variance (down-weighted)
    unseen_score: float = 0.25  # score of a page never drawn (0.25 = the largest variance of a 0/1 reward)


class LearnabilityStats:
    """Per-page recent reward variances and the sampling weights they give."""

    def __init__(self, n_pages: int, cfg: CurriculumConfig):
        if n_pages <= 0:
            raise ValueError("curriculum: the dataset has no pages")
        self.n_pages = n_pages
        self.cfg = cfg
        self.history: dict[int, deque] = {}

    def observe(self, page: int, variance: float) -> None:
        self.history.setdefault(int(page), deque(maxlen=self.cfg.window)).append(float(variance))

    def score(self, page: int) -> float:
        recent = self.history.get(page)
        if not recent:
            return self.cfg.unseen_score + self.cfg.floor
        return self.cfg.floor + sum(recent) / len(recent)

    def weights(self) -> torch.Tensor:
        return torch.tensor([self.score(i) for i in range(self.n_pages)], dtype=torch.float64)

    def probabilities(self) -> torch.Tensor:
        w = self.weights()
        return w / w.sum()

    def state_dict(self) -> dict:
        return {"history": {str(k): list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.history = {int(k): deque(v, maxlen=self.cfg.window) for k, v in state.get("history", {}).items()}


class CurriculumSampler(Sampler[int]):
    """Indices in RepeatSampler's layout, pages drawn by learnability instead of a uniform permutation."""

    def __init__(self, stats: LearnabilityStats, mini_repeat_count: int, batch_size: int = 1,
                 repeat_count: int = 1, seed: int = 0):
        if batch_size > stats.n_pages:
            raise ValueError(f"curriculum: {batch_size} distinct pages per generation batch but the dataset "
                             f"has only {stats.n_pages}")
        self.stats = stats
        self.mini_repeat_count = mini_repeat_count
        self.batch_size = batch_size
        self.repeat_count = repeat_count
        self.generator = torch.Generator().manual_seed(seed)
        self._unconsumed: deque = deque()  # drawn blocks not yet turned into a rollout
        self._restored: deque = deque()  # pending blocks from a checkpoint, replayed first

    def __len__(self) -> int:  # the same epoch length as RepeatSampler, so epochs and max_steps agree
        blocks = self.stats.n_pages // self.batch_size
        return blocks * self.batch_size * self.mini_repeat_count * self.repeat_count

    def __iter__(self) -> Iterator[int]:
        for _ in range(self.stats.n_pages // self.batch_size):
            # Drawn lazily, one block at a time, so each block sees the variances observed so far. Blocks
            # restored from a checkpoint (drawn, not yet trained on, when it was saved) come first.
            if self._restored:
                pages = self._restored.popleft()
            else:
                pages = torch.multinomial(self.stats.probabilities(), self.batch_size, replacement=False,
                                          generator=self.generator).tolist()
            self._unconsumed.append(pages)
            for _ in range(self.repeat_count):
                for page in pages:
                    for _ in range(self.mini_repeat_count):
                        yield page

    def mark_consumed(self) -> None:
        """The trainer generated a rollout from the oldest drawn block (the dataloader draws ahead)."""
        if self._unconsumed:
            self._unconsumed.popleft()

    def state_dict(self) -> dict:
        # The dataloader prefetches, so blocks drawn but not trained on yet are saved with the generator: a
        # resumed run replays them first and then draws exactly what the uninterrupted run drew.
        return {"stats": self.stats.state_dict(), "generator": self.generator.get_state().tolist(),
                "pending": [list(b) for b in (*self._unconsumed, *self._restored)]}

    def load_state_dict(self, state: dict) -> None:
        self.stats.load_state_dict(state.get("stats", {}))
        if "generator" in state:
            self.generator.set_state(torch.tensor(state["generator"], dtype=torch.uint8))
        self._restored = deque(list(b) for b in state.get("pending", []))
        self._unconsumed = deque()


def group_variances(rewards: torch.Tensor, num_generations: int) -> torch.Tensor:
    """Population variance of each group's total reward (NaN rewards, i.e. unscorable completions, ignored)."""
    grouped = rewards.view(-1, num_generations)
    valid = ~torch.isnan(grouped)
    count = valid.sum(dim=1).clamp(min=1)
    filled = torch.where(valid, grouped, torch.zeros_like(grouped))
    mean = filled.sum(dim=1) / count
    sq = torch.where(valid, (grouped - mean.unsqueeze(1)) ** 2, torch.zeros_like(grouped))
    return sq.sum(dim=1) / count
