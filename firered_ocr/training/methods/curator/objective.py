"""The Actor-Curator formulas, as pure functions with exact tests (tests/training/methods/test_actor_curator.py).

- Sampling distribution over a candidate pool of n pages with curator scores s:
  ``p = (1 - alpha) * softmax(s / tau) + alpha / n``   (paper: a softmax with a uniform floor alpha / n).
- Improvement of page x after the actor's update on its group of G completions:
  ``u(x) = (1/G) * sum_i A_i * (s_i - 1)``, with ``s_i = exp(mean_t (log pi_new - log pi_rollout))`` the
  length-normalised sequence ratio of the updated to the rollout policy on completion i (the fork's
  ``(1/G) sum A_i s_i`` is the same number when the advantages of a group sum to 0; ours stays exact when
  they do not, e.g. with `gt_in_group` or NaN-reward rows).
- Curator loss, importance-weighted and PPO-clipped on ``r(x) = p_curator(x) / p_sampled(x)``:
  ``L = -mean_x min(r(x) u(x), clip(r(x), 1 - eps, 1 + eps) u(x))`` over the chosen pages in the replay
  buffer; p_sampled is the probability the page had in the distribution it was drawn from, p_curator the
  probability the current curator gives it within the same pool.
"""
from __future__ import annotations

import torch


def sampling_distribution(scores: torch.Tensor, alpha: float, temperature: float) -> torch.Tensor:
    """(1 - alpha) softmax(scores / temperature) + alpha / n over the last dimension."""
    n = scores.shape[-1]
    return (1.0 - alpha) * torch.softmax(scores / temperature, dim=-1) + alpha / n


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of a distribution (zero-probability entries contribute 0)."""
    return -(probs * torch.log(probs.clamp_min(1e-30))).sum(dim=-1)


def sequence_ratios(new_logps: torch.Tensor, old_logps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per row, exp of the mean over unmasked tokens of (new - old) log-probs; a row without tokens gets 1."""
    mask = mask.to(new_logps.dtype)
    count = mask.sum(dim=-1)
    mean_diff = ((new_logps - old_logps) * mask).sum(dim=-1) / count.clamp_min(1.0)
    return torch.where(count > 0, torch.exp(mean_diff), torch.ones_like(mean_diff))


def improvement(advantages: torch.Tensor, ratios: torch.Tensor, num_generations: int) -> torch.Tensor:
    """u per group of `num_generations` consecutive rows: (1/G) sum_i A_i (s_i - 1)."""
    contrib = advantages.to(torch.float64) * (ratios.to(torch.float64) - 1.0)
    return contrib.view(-1, num_generations).sum(dim=1) / num_generations


def clipped_curator_loss(p_curator: torch.Tensor, p_sampled: torch.Tensor, u: torch.Tensor,
                         clip_epsilon: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, clipped fraction): -mean min(r u, clip(r, 1-eps, 1+eps) u), r = p_curator / p_sampled."""
    ratio = p_curator / p_sampled
    clipped = ratio.clamp(1.0 - clip_epsilon, 1.0 + clip_epsilon)
    unclipped_obj, clipped_obj = ratio * u, clipped * u
    loss = -torch.minimum(unclipped_obj, clipped_obj).mean()
    frac = (clipped_obj < unclipped_obj).to(torch.float64).mean()
    return loss, frac
