"""VESPO (arXiv 2602.10693) is TRL's `loss_type: vespo`; this module only guards the combination TRL needs.

TRL computes the loss ``-sg(phi(W)) * A * log pi_theta`` per token, with ``phi(W) = W^k exp(lambda (1 - W))``,
W the product over the sequence of the token ratios pi_theta / pi_old, and (k, lambda) = (2, 3) for A >= 0,
(3, 2) for A < 0 (`vespo_k_pos`, `vespo_lambda_pos`, `vespo_k_neg`, `vespo_lambda_neg` in `trl_args`).
With vLLM, TRL folds its sampler correction into W token by token, which needs
`vllm_importance_sampling_mode` `token_truncate` or `token_mask`; its default (`sequence_mask`) does not
fit, so the stage refuses that combination before any model is loaded.
"""
from __future__ import annotations

VESPO_VLLM_MODES = ("token_truncate", "token_mask")


def vespo_vllm_problem(loss_type: str, use_vllm: bool, trl_args: dict) -> str | None:
    """The error message for an incompatible VESPO + vLLM setting, or None when it can run."""
    if loss_type != "vespo" or not use_vllm:
        return None
    mode = trl_args.get("vllm_importance_sampling_mode", "sequence_mask (TRL's default)")
    if mode in VESPO_VLLM_MODES:
        return None
    return (f"grpo.loss_type: vespo with use_vllm needs trl_args.vllm_importance_sampling_mode set to "
            f"token_truncate (or token_mask), not {mode}: VESPO folds vLLM's per-token sampling correction "
            f"into its sequence weight W")
