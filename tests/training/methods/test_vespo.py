"""VESPO (TRL's `loss_type: vespo`) under reuse: the loss TRL computes equals the hand-computed objective
``-sum phi(W) A log pi / tokens`` with ``phi(W) = W^k exp(lambda (1 - W))``; on-policy it is REINFORCE; with vLLM
the stage refuses the sampler-correction mode VESPO cannot use."""
from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("trl")

from grpo_support import FAKE_REGISTRY, first_rollout, per_token_logps, small_cfg  # noqa: E402
from trl import GRPOTrainer  # noqa: E402

from firered_ocr.training.grpo import GRPOConfigError, GRPOStageConfig, build_grpo_args, build_trainer  # noqa: E402

K_LAMBDA = {True: (2.0, 3.0), False: (3.0, 2.0)}  # A >= 0 : (k, lambda); A < 0


def _phi(w: float, advantage: float) -> float:
    k, lam = K_LAMBDA[advantage >= 0]
    return w ** k * math.exp(lam * (1 - w))


def _hand_loss(trainer, out) -> tuple[float, float, list[float]]:
    """(the VESPO objective, the same with phi = 1, i.e. REINFORCE, the W's), per sequence in float64."""
    logps = per_token_logps(trainer, out).double()
    mask = out["completion_mask"].double()
    old = out.get("old_per_token_logps")
    old = logps if old is None else old.double()
    total, reinforce, ws = 0.0, 0.0, []
    for i in range(logps.size(0)):
        w = math.exp(((logps[i] - old[i]) * mask[i]).sum().item())
        ws.append(w)
        a = out["advantages"][i].item()
        total += -_phi(w, a) * a * (logps[i] * mask[i]).sum().item()
        reinforce += -a * (logps[i] * mask[i]).sum().item()
    n = out["num_items_in_batch"].item()
    return total / n, reinforce / n, ws


def test_gamma_weights_on_hand_values():
    log_w = torch.log(torch.tensor([[0.5], [2.0], [2.0], [0.5]]))
    adv = torch.tensor([[1.0], [-1.0], [1.0], [-1.0]])
    phi = GRPOTrainer.get_gamma_weights(adv, log_w, torch.ones(4, 1), None)
    expected = [0.25 * math.exp(1.5), 8 * math.exp(-2.0), 4 * math.exp(-3.0), 0.125 * math.exp(1.0)]
    torch.testing.assert_close(phi.view(-1), torch.tensor(expected), rtol=1e-6, atol=0)


def test_vespo_loss_under_reuse_equals_the_hand_computed_objective(tiny_model_dir, tiny_dataset_dir, tmp_path):
    cfg = small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path / "out", rewards={"length": 1.0}, loss_type="vespo",
                    num_iterations=2, max_steps=2, learning_rate=1e-4)
    trainer, _ = build_trainer(cfg, reward_registry=FAKE_REGISTRY)
    seen = []
    compute_loss = trainer._compute_loss

    def checking_loss(model, inputs):
        hand, reinforce, ws = _hand_loss(trainer, inputs)
        loss = compute_loss(model, inputs)
        seen.append((loss.item(), hand, reinforce, ws, inputs["advantages"].tolist()))
        return loss

    trainer._compute_loss = checking_loss
    trainer.train()
    assert len(seen) == 2  # one rollout, two updates on it
    (first, first_hand, first_reinforce, first_ws, adv), (second, second_hand, second_reinforce, second_ws, _) = seen
    assert max(abs(w - 1) for w in first_ws) < 1e-5  # the first update is on-policy: W = 1
    assert max(abs(w - 1) for w in second_ws) > 1e-3  # the reuse: W away from 1
    # both (k, lambda) pairs act where phi is far from 0 (a large step makes W huge or tiny, phi ~ 0 everywhere)
    assert any(0.5 < w < 3 and abs(w - 1) > 0.1 for w, a in zip(second_ws, adv) if a > 0)
    assert any(0.2 < w < 3 and abs(w - 1) > 0.1 for w, a in zip(second_ws, adv) if a < 0)
    assert first == pytest.approx(first_hand, rel=1e-5, abs=1e-7)
    assert first_hand == pytest.approx(first_reinforce, rel=1e-5, abs=1e-7)  # W = 1: phi = 1
    assert second == pytest.approx(second_hand, rel=1e-5, abs=1e-7)
    assert second != pytest.approx(second_reinforce, rel=1e-3)  # under reuse the weights phi(W) change the loss


def test_on_policy_vespo_is_token_normalised_reinforce(tiny_model_dir, tiny_dataset_dir, tmp_path):
    trainer, _ = build_trainer(small_cfg(tiny_model_dir, tiny_dataset_dir, tmp_path / "out", rewards={"length": 1.0},
                                         loss_type="vespo"), reward_registry=FAKE_REGISTRY)
    _, out = first_rollout(trainer)
    assert "old_per_token_logps" not in out  # num_iterations 1: TRL keeps no behaviour log-probs, so W = 1
    param = trainer.model.lm_head.weight
    trainer.model.zero_grad()
    loss = trainer._compute_loss(trainer.model, out)
    loss.backward()
    vespo_grad = param.grad.clone()
    logps, _, _ = trainer._get_per_token_logps_and_entropies(
        trainer.model, torch.cat([out["prompt_ids"], out["completion_ids"]], 1),
        torch.cat([out["prompt_mask"], out["completion_mask"]], 1), out["completion_ids"].size(1),
        pixel_values=out["pixel_values"], image_grid_thw=out["image_grid_thw"], num_images=out["num_images"],
        mm_token_type_ids=out["mm_token_type_ids"])
    mask = out["completion_mask"].float()
    reinforce = -(out["advantages"].unsqueeze(1) * logps * mask).sum() / out["num_items_in_batch"]
    assert loss.item() == pytest.approx(reinforce.item(), rel=1e-6, abs=1e-8)
    trainer.model.zero_grad()
    reinforce.backward()
    torch.testing.assert_close(vespo_grad, param.grad, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("mode,ok", [(None, False), ("sequence_mask", False), ("token_truncate", True),
                                     ("token_mask", True)])
def test_vespo_with_vllm_needs_a_token_level_sampler_correction(mode, ok):
    from firered_ocr.training.methods import vespo_vllm_problem

    trl_args = {} if mode is None else {"vllm_importance_sampling_mode": mode}
    problem = vespo_vllm_problem("vespo", True, trl_args)
    assert (problem is None) == ok
    assert vespo_vllm_problem("dapo", True, trl_args) is None and vespo_vllm_problem("vespo", False, trl_args) is None
    if not ok:
        # the message names the mode in force, TRL's default when none is set
        in_force = mode or "sequence_mask (TRL's default)"
        assert "token_truncate" in problem and f"not {in_force}: " in problem
        with pytest.raises(GRPOConfigError, match="vespo with use_vllm needs trl_args.vllm_importance_sampling_mode"):
            build_grpo_args(GRPOStageConfig(loss_type="vespo", use_vllm=True, trl_args=trl_args), [1.0])
