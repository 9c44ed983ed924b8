"""The learned curator: a small torch model over page features, its replay buffer and its update.

It scores pages from their features (never their ids), so what it learns about one page carries to every
page that looks like it: on a corpus where each page is drawn about once an epoch, that is the only way a
curriculum can act before the epoch ends. All computation is on CPU in float64, seeded, so every rank that
feeds it the same (gathered) improvements holds the same curator and draws the same pages.
"""
from __future__ import annotations

from collections import deque

import torch

from firered_ocr.training.methods.curator.config import CuratorConfig
from firered_ocr.training.methods.curator.objective import clipped_curator_loss, entropy, sampling_distribution


def build_scorer(n_features: int, hidden_size: int) -> torch.nn.Module:
    """Linear (hidden_size 0) or one-hidden-layer tanh MLP with a scalar output."""
    if hidden_size == 0:
        return torch.nn.Linear(n_features, 1, dtype=torch.float64)
    return torch.nn.Sequential(torch.nn.Linear(n_features, hidden_size, dtype=torch.float64), torch.nn.Tanh(),
                               torch.nn.Linear(hidden_size, 1, dtype=torch.float64))


class Curator:
    """Scores, sampling probabilities and the clipped importance-weighted update from a replay buffer."""

    def __init__(self, features: torch.Tensor, cfg: CuratorConfig):
        cfg.check()
        if features.dim() != 2 or features.shape[0] == 0:
            raise ValueError(f"curator: expected a (pages, features) table, got shape {tuple(features.shape)}")
        self.cfg = cfg
        self.features = features.to(torch.float64)
        with torch.random.fork_rng(devices=[]):  # seeded weights without touching the global RNG stream
            torch.manual_seed(cfg.seed)
            self.scorer = build_scorer(self.features.shape[1], cfg.hidden_size)
        self.optimizer = torch.optim.Adam(self.scorer.parameters(), lr=cfg.learning_rate)
        # One entry per measured generation batch: pool page indices, positions of the chosen pages in the
        # pool, their sampling probabilities and their measured improvements.
        self.replay: deque = deque(maxlen=cfg.replay_steps)
        self.updates = 0

    @property
    def n_pages(self) -> int:
        return self.features.shape[0]

    def scores(self, pages: torch.Tensor) -> torch.Tensor:
        return self.scorer(self.features[pages]).squeeze(-1)

    def distribution(self, pool: torch.Tensor) -> torch.Tensor:
        """The sampling distribution over a candidate pool (no gradient)."""
        with torch.no_grad():
            return sampling_distribution(self.scores(pool), self.cfg.alpha, self.cfg.temperature)

    def observe(self, pool: torch.Tensor, chosen: torch.Tensor, p_sampled: torch.Tensor,
                u: torch.Tensor) -> dict[str, float]:
        """Add one measured generation batch to the replay buffer and take `updates_per_step` Adam steps."""
        self.replay.append((pool.clone(), chosen.clone(), p_sampled.to(torch.float64).clone(),
                            u.to(torch.float64).clone()))
        losses, clip_fracs = [], []
        for _ in range(self.cfg.updates_per_step):
            loss, clip_frac = self.replay_loss()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            losses.append(loss.item())
            clip_fracs.append(clip_frac.item())
        self.updates += 1
        return {"curator/loss": losses[0], "curator/clip_frac": sum(clip_fracs) / len(clip_fracs)}

    def replay_loss(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The clipped loss over every chosen page in the replay buffer, each under its own pool."""
        p_now, p_old, u = [], [], []
        for pool, chosen, p_sampled, gains in self.replay:
            probs = sampling_distribution(self.scores(pool), self.cfg.alpha, self.cfg.temperature)
            p_now.append(probs[chosen])
            p_old.append(p_sampled)
            u.append(gains)
        return clipped_curator_loss(torch.cat(p_now), torch.cat(p_old), torch.cat(u), self.cfg.clip_epsilon)

    def pool_entropy(self, pool: torch.Tensor) -> float:
        return entropy(self.distribution(pool)).item()

    def state_dict(self) -> dict:
        return {"scorer": self.scorer.state_dict(), "optimizer": self.optimizer.state_dict(),
                "replay": [tuple(t.clone() for t in entry) for entry in self.replay], "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.scorer.load_state_dict(state["scorer"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.replay = deque((tuple(entry) for entry in state["replay"]), maxlen=self.cfg.replay_steps)
        self.updates = int(state["updates"])
