"""`CuratorSampler`: TRL's RepeatSampler layout, pages chosen by the curator from a random candidate pool.

Per generation batch (one block of `batch_size` distinct pages): draw a pool of `pool_size` distinct pages
uniformly (our proposal; the fork takes its candidates from a shuffled pass over the data), compute the
curator's distribution over the pool, draw `batch_size` pages from it without replacement, and remember
each chosen page's probability in that distribution (the fork stores the same single-draw probability, not
the inclusion probability of a draw without replacement). The block is then yielded as RepeatSampler does:
each page `mini_repeat_count` (= G) times in a row, the whole block `repeat_count` (= num_iterations x
steps_per_generation) times. Every rank holds the same curator and generator, so every rank yields the same
stream and the dataloader hands each rank its slice, as with RepeatSampler.

Blocks are drawn lazily, one at a time, so each sees the curator as updated so far; the dataloader draws
one block ahead of training, so a block is scored by a curator one update behind (our choice: the price of
keeping the dataloader). Drawn-but-untrained blocks are saved with the generator so that a resumed run
replays them and then draws exactly what the uninterrupted run drew.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

from firered_ocr.training.methods.curator.curator import Curator


class CuratorSampler(Sampler[int]):
    def __init__(self, curator: Curator, mini_repeat_count: int, batch_size: int = 1, repeat_count: int = 1,
                 seed: int = 0):
        n = curator.n_pages
        if batch_size > n:
            raise ValueError(f"curator: {batch_size} distinct pages per generation batch but the dataset has "
                             f"only {n}")
        self.curator = curator
        self.mini_repeat_count = mini_repeat_count
        self.batch_size = batch_size
        self.repeat_count = repeat_count
        self.pool_size = min(n, max(batch_size, math.ceil(curator.cfg.pool_factor * batch_size)))
        self.generator = torch.Generator().manual_seed(seed)
        self._unconsumed: deque = deque()  # drawn blocks not yet turned into a rollout
        self._restored: deque = deque()  # pending blocks from a checkpoint, replayed first
        self._epoch_drawn = 0  # blocks drawn by the current epoch's iterator
        self._resume_consumed = 0  # blocks of the resumed epoch already trained on before the checkpoint

    def __len__(self) -> int:  # RepeatSampler's epoch length, so epochs and max_steps agree
        blocks = self.curator.n_pages // self.batch_size
        return blocks * self.batch_size * self.mini_repeat_count * self.repeat_count

    def draw_block(self) -> dict:
        pool = torch.randperm(self.curator.n_pages, generator=self.generator)[: self.pool_size]
        probs = self.curator.distribution(pool)
        chosen = torch.multinomial(probs, self.batch_size, replacement=False, generator=self.generator)
        return {"pool": pool, "chosen": chosen, "p_sampled": probs[chosen], "pages": pool[chosen].tolist(),
                "entropy": float(-(probs * probs.log()).sum())}

    def __iter__(self) -> Iterator[int]:
        # A resumed epoch yields only the blocks the interrupted one had left, so epochs end at the same steps
        # as in an uninterrupted run (the Trainer then starts the next epoch, as it would have).
        skip, self._resume_consumed = self._resume_consumed, 0
        self._epoch_drawn = skip
        for _ in range(self.curator.n_pages // self.batch_size - skip):
            block = self._restored.popleft() if self._restored else self.draw_block()
            self._unconsumed.append(block)
            self._epoch_drawn += 1
            for _ in range(self.repeat_count):
                for page in block["pages"]:
                    for _ in range(self.mini_repeat_count):
                        yield page

    def pop_consumed(self) -> dict | None:
        """The oldest drawn block: the trainer just generated its rollout (the dataloader draws ahead)."""
        return self._unconsumed.popleft() if self._unconsumed else None

    def state_dict(self) -> dict:
        pending = [dict(b) for b in (*self._unconsumed, *self._restored)]
        return {"generator": self.generator.get_state(), "pending": pending,
                "epoch_consumed": max(0, self._epoch_drawn - len(self._unconsumed)) + self._resume_consumed}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self._restored = deque(dict(b) for b in state.get("pending", []))
        self._unconsumed = deque()
        self._resume_consumed = int(state.get("epoch_consumed", 0))
