"""PROSPER's per-group game on the structural reward components (arXiv 2602.19041; no official code found).

PROSPER (Zhang, Zhang, Grimes, Yu, Swamy, Wu, 2026) targets the Maximum Entropy Blackwell Winner: it does
not add the objectives up; the learner plays against the worst objective of each prompt and a comparator
kept near a reference by a KL term (strength beta). On one page with G completions and per-component
scores s_k(i) in [0, 1] (the reward columns TRL computes, one per reward function), this module computes:

- the page's objective set: components that judged at least one completion (a component that returns
  None for every completion, e.g. TEDS on a page with no table on either side, leaves the set);
- pairwise preferences ``P_k(i > j) = link_k(s_k(i) - s_k(j))``: `sigmoid` ``sigma(d / tau_k)``, `hard`
  (1 above `hard_margin`, 0 below minus it, 1/2 between; the default for the near-binary validity
  components) or `linear` ``1/2 + d/2`` (the identity check below). A pair with a NaN score gets 1/2;
- ``r_k(j) = mean_i (P_k(i > j) - 1/2)``, ``V_k = -beta log mean_j exp(-r_k(j) / beta)``;
- objective weights w: all on arg-min_k V_k (`objective: argmin`, as published) or
  ``softmax(-V / objective_temperature)`` (`objective: softmin`, our option);
- the comparator ``nu_j ∝ exp(-(w . r)(j) / beta)`` (the reference pi_ref is the rollout policy, whose
  samples are the group: our choice, so nu is a distribution over the group);
- the advantage ``q_i = sum_k w_k sum_j (P_k(i > j) - 1/2) nu_j``, centred in the group.

With the linear link this is exactly ``(s_{k*}(i) - mean s_{k*}) / 2``: GRPO without std scaling on the
page's worst component (tested). The paper's learner step is a REBEL-style regression on pairs; here q is
handed to TRL's policy-gradient loss as the advantage instead (our choice: it keeps every TRL loss type).

Diagnostics per step: each component's share of the chosen objective, the mean V_k of pages where k was
in the set, and the share of groups whose majority-vote tournament over components (i beats j when more
components prefer i than j) contains a 3-cycle. The tournament is not part of PROSPER; it shows how often
the structural objectives really disagree on a page.
"""
from __future__ import annotations

import dataclasses

import torch

from rewards.components import VALIDITY_COMPONENTS

LINKS = ("sigmoid", "hard", "linear")
OBJECTIVES = ("argmin", "softmin")


class ProsperConfigError(ValueError):
    """A `grpo.prosper:` section that cannot run; the message names the key."""


@dataclasses.dataclass
class ProsperConfig:
    """The `grpo.prosper:` section (used by `advantage: prosper`)."""

    beta: float = 0.1  # comparator KL strength (the paper's beta; its value for our scores is our choice)
    link: str = "sigmoid"  # sigmoid | linear: the link of the non-hard components
    temperature: float = 0.1  # sigmoid temperature tau of every component not in `temperatures`
    temperatures: dict[str, float] = dataclasses.field(default_factory=dict)  # per-component tau
    # Components with the hard link (near-binary validity checks); [] = none.
    hard_components: list[str] = dataclasses.field(default_factory=lambda: list(VALIDITY_COMPONENTS))
    hard_margin: float = 0.0  # |d| <= margin counts as a tie (1/2) under the hard link
    objective: str = "argmin"  # argmin (published) | softmin
    objective_temperature: float = 0.05  # softmin only

    def validate(self) -> None:
        if self.link not in ("sigmoid", "linear"):
            raise ProsperConfigError(f"grpo.prosper.link: 'sigmoid' or 'linear', not {self.link!r} (the hard "
                                     f"link is chosen per component by hard_components)")
        if self.objective not in OBJECTIVES:
            raise ProsperConfigError(f"grpo.prosper.objective: one of {OBJECTIVES}, not {self.objective!r}")
        for key in ("beta", "temperature", "objective_temperature"):
            if not getattr(self, key) > 0:
                raise ProsperConfigError(f"grpo.prosper.{key}: must be > 0, not {getattr(self, key)}")
        for name, tau in self.temperatures.items():
            if not tau > 0:
                raise ProsperConfigError(f"grpo.prosper.temperatures.{name}: must be > 0, not {tau}")
        if self.hard_margin < 0:
            raise ProsperConfigError(f"grpo.prosper.hard_margin: must be >= 0, not {self.hard_margin}")

    def links(self, names: list[str]) -> list[tuple[str, float]]:
        """(link, temperature) of each component, in reward-column order."""
        unknown = sorted(set(self.temperatures) - set(names))
        if unknown:
            raise ProsperConfigError(f"grpo.prosper.temperatures: {', '.join(unknown)} not among the configured "
                                     f"rewards ({', '.join(names)})")
        return [("hard" if n in self.hard_components else self.link, self.temperatures.get(n, self.temperature))
                for n in names]


def preferences(scores: torch.Tensor, links: list[tuple[str, float]], hard_margin: float = 0.0) -> torch.Tensor:
    """``P[k, i, j] = P_k(i > j)`` for one group: scores (G, K) -> (K, G, G); pairs with a NaN get 1/2."""
    diff = (scores.unsqueeze(1) - scores.unsqueeze(0)).permute(2, 0, 1)  # [k, i, j] = s_k(i) - s_k(j)
    out = torch.empty_like(diff)
    for k, (link, tau) in enumerate(links):
        d = diff[k]
        if link == "sigmoid":
            out[k] = torch.sigmoid(d / tau)
        elif link == "linear":
            out[k] = 0.5 + 0.5 * d
        elif link == "hard":
            out[k] = torch.where(d > hard_margin, 1.0, torch.where(d < -hard_margin, 0.0, 0.5))
        else:
            raise ProsperConfigError(f"grpo.prosper: unknown link {link!r}; one of {LINKS}")
    return torch.nan_to_num(out, nan=0.5)


def has_three_cycle(prefs: torch.Tensor) -> bool:
    """Whether the majority-vote tournament over components (i -> j when more components prefer i) has a
    directed 3-cycle: trace(A^3) > 0 for its adjacency matrix A."""
    votes = torch.sign(prefs - 0.5).sum(0)  # [i, j] = #components preferring i - #preferring j
    adjacency = (votes > 0).double()
    return torch.trace(adjacency @ adjacency @ adjacency).item() > 0


@dataclasses.dataclass
class GroupGame:
    advantages: torch.Tensor  # (G,) q centred in the group
    values: torch.Tensor  # (K,) V_k, NaN outside the page's objective set
    weights: torch.Tensor  # (K,) w on the simplex over the objective set (zeros if the set is empty)
    cycle: bool  # the majority-vote tournament over the set has a 3-cycle


def group_game(scores: torch.Tensor, links: list[tuple[str, float]], cfg: ProsperConfig) -> GroupGame:
    """PROSPER's advantage for one group: scores (G, K), NaN where a component did not judge a completion."""
    scores = scores.double()
    g, k = scores.shape
    in_set = ~torch.isnan(scores).all(dim=0)  # (K,)
    values = torch.full((k,), torch.nan, dtype=scores.dtype)
    weights = torch.zeros(k, dtype=scores.dtype)
    if not in_set.any():
        return GroupGame(torch.zeros(g, dtype=scores.dtype), values, weights, False)
    prefs = preferences(scores, links, cfg.hard_margin)  # (K, G, G)
    centred = prefs - 0.5
    r = centred.mean(dim=1)  # r_k(j) = mean_i (P_k(i > j) - 1/2): (K, G)
    beta = cfg.beta
    # V_k = -beta log mean_j exp(-r_k(j)/beta), in log-sum-exp form
    v = -beta * (torch.logsumexp(-r / beta, dim=1) - torch.log(torch.tensor(float(g), dtype=r.dtype)))
    values[in_set] = v[in_set]
    if cfg.objective == "argmin":
        best = torch.where(in_set, v, torch.inf)
        weights[int(torch.argmin(best))] = 1.0  # ties: the first component in reward order
    else:
        logits = torch.where(in_set, -v / cfg.objective_temperature, -torch.inf)
        weights = torch.softmax(logits, dim=0)
    nu = torch.softmax(-(weights.unsqueeze(1) * r).sum(0) / beta, dim=0)  # comparator over the group: (G,)
    q = (weights.view(k, 1, 1) * centred * nu.view(1, 1, g)).sum(dim=(0, 2))  # q_i
    return GroupGame(q - q.mean(), values, weights, has_three_cycle(prefs[in_set]))


def prosper_advantages(per_func: torch.Tensor, names: list[str], num_generations: int,
                       cfg: ProsperConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """Advantages for every row of the gathered reward matrix (rows: groups of `num_generations` in a row;
    columns: reward functions `names`) and the step's diagnostics (metric name -> value)."""
    links = cfg.links(names)
    groups = per_func.double().view(-1, num_generations, len(names))
    unscorable = torch.isnan(groups).all(dim=2)  # completions no component judged: no part in the game
    out = torch.zeros(groups.shape[:2], dtype=torch.float64)
    chosen = torch.zeros(len(names), dtype=torch.float64)
    value_sum = torch.zeros(len(names), dtype=torch.float64)
    value_count = torch.zeros(len(names), dtype=torch.float64)
    cycles = played = 0
    for n, group in enumerate(groups):
        keep = ~unscorable[n]
        if keep.sum() < 2:
            continue
        game = group_game(group[keep], links, cfg)
        out[n, keep] = game.advantages
        if game.weights.sum() > 0:
            played += 1
            chosen += game.weights
            seen = ~torch.isnan(game.values)
            value_sum[seen] += game.values[seen]
            value_count[seen] += 1
            cycles += int(game.cycle)
    metrics = {"prosper/cycle_frac": cycles / played if played else 0.0}
    for i, name in enumerate(names):
        metrics[f"prosper/objective_share/{name}"] = (chosen[i] / played).item() if played else 0.0
        if value_count[i] > 0:
            metrics[f"prosper/V/{name}"] = (value_sum[i] / value_count[i]).item()
    return out.view(-1).to(per_func.dtype), metrics
