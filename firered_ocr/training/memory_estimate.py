"""Per-GPU memory of a recipe before paying for hardware: parameters, gradients, optimizer state, activations.

Counted from the architecture (model_shapes.py), the recipe (LoRA or full, batch, token cap, stage) and the
launcher (DDP, DeepSpeed ZeRO-2, ZeRO-3 at N GPUs). What each line assumes, and why:

Model states, bytes per parameter (P = all parameters, T = trainable ones):
- SFT under DDP: `sft` loads the model in float32 and Trainer's `bf16: true` runs it under autocast, so the
  weights are fp32 (4P); each trainable weight has an fp32 gradient (4T), AdamW's two fp32 moments (8T),
  DDP's reducer buckets (another gradient-sized buffer, 4T: transformers/accelerate leave
  `gradient_as_bucket_view` off) and autocast's bf16 copy of every weight that requires grad, cached for
  the whole forward (2T). Frozen weights are cast per use and not cached.
- GRPO under DDP: TRL loads the model in bf16 when `bf16: true` (our `model_init_kwargs`), so weights,
  gradients, buckets and AdamW moments are all bf16: 2P + (2 + 2 + 4)T.
- DeepSpeed (either stage, bf16): weights bf16 (2P), bf16 gradients (2T), fp32 master weights and the two
  fp32 moments (12T). ZeRO-2 partitions gradients and optimizer state over N GPUs, ZeRO-3 the weights too;
  ZeRO-3 also gathers one layer at a time, so the largest module (the 151,936 x 2048 embedding) is counted
  once in full.
Activations per sequence (gradient checkpointing on, SDPA/flash attention: no S^2 term):
- one saved hidden state per text layer (S x hidden, in the weights' dtype: fp32 under SFT's DDP);
- the layer being recomputed in backward (bf16): S x (2 hidden + q/k/v/o widths + 3 x MLP width);
- the logits and the loss over the vocabulary: bf16 logits, transformers' fp32 upcast, its fp32 gradient
  (2 + 4 + 4 bytes x S x vocab) -- at 151,936 entries a token this is the largest single term;
- the vision tower only when it trains (full fine-tuning): the same checkpoint + working-layer rule over its
  4 patches per merged image token. Frozen under LoRA, it keeps no activations.
GRPO adds the rollout KV cache (transformers generation; vLLM instead takes its `vllm_gpu_memory_utilization`
share of the card) and scores only the completion tokens through the vocabulary.
Not counted: the CUDA context and allocator fragmentation (budget 1-3 GB a GPU), DeepSpeed's communication
buckets, dataloader workers. The result is an estimate, not a measurement.
"""
from __future__ import annotations

import dataclasses

from firered_ocr.tiny_model import TinyModelConfig

GIB = 1024 ** 3
STRATEGIES = ("ddp", "zero2", "zero3")  # the recipes' launchers (configs/accelerate/)
CPU = "cpu-fp32"  # one process, everything in float32: what this 2-core machine would have to hold


def parameter_groups(cfg: TinyModelConfig) -> dict[str, int]:
    """Parameters of Qwen3VLForConditionalGeneration built from `cfg`, by module group (exact)."""
    h, hd = cfg.text_hidden, cfg.text_head_dim
    q, kv, mlp = cfg.text_heads * hd, cfg.text_kv_heads * hd, cfg.text_intermediate
    rows = cfg.embedding_rows or cfg.vocab_size
    layer_attn = h * q + 2 * h * kv + q * h + 2 * hd  # q, k, v, o (no bias) + q_norm, k_norm
    layer_mlp = 3 * h * mlp
    layer_norms = 2 * h
    vh, vi, m2 = cfg.vision_hidden, cfg.vision_intermediate, cfg.merge_size ** 2
    block = 4 * vh + (vh * 3 * vh + 3 * vh) + (vh * vh + vh) + (vh * vi + vi) + (vi * vh + vh)
    merged = vh * m2

    def merger(post_shuffle_norm: bool) -> int:
        norm = 2 * (merged if post_shuffle_norm else vh)
        return norm + (merged * merged + merged) + (merged * cfg.text_hidden + cfg.text_hidden)

    n_deepstack = len(cfg.deepstack_indexes if cfg.deepstack_indexes is not None else [cfg.vision_depth - 1])
    return {
        "text_embedding": rows * h,
        "text_attention": cfg.text_layers * layer_attn,
        "text_mlp": cfg.text_layers * layer_mlp,
        "text_norms": cfg.text_layers * layer_norms + h,
        "lm_head": 0 if cfg.tie_word_embeddings else rows * h,
        "vision_embedding": 3 * cfg.temporal_patch_size * cfg.patch_size ** 2 * vh + vh + cfg.vision_positions * vh,
        "vision_blocks": cfg.vision_depth * block,
        "vision_mergers": merger(False) + n_deepstack * merger(True),
    }


def module_group(name: str) -> str:
    """The `parameter_groups` group (or `lora_adapters`) a parameter of a built model belongs to."""
    if "lora_" in name:
        return "lora_adapters"
    if ".visual." in f".{name}":
        return "vision_" + ("mergers" if "merger" in name else "blocks" if ".blocks." in name else "embedding")
    if "embed_tokens" in name:
        return "text_embedding"
    if "lm_head" in name:
        return "lm_head"
    if "self_attn" in name:
        return "text_attention"
    if ".mlp." in name:
        return "text_mlp"
    return "text_norms"


def trainable_groups(model) -> dict[str, dict[str, int]]:
    """Trainable and frozen parameter counts of a built (possibly peft-wrapped) model, per module group."""
    groups: dict[str, dict[str, int]] = {}
    for name, p in model.named_parameters():
        g = groups.setdefault(module_group(name), {"trainable": 0, "frozen": 0})
        g["trainable" if p.requires_grad else "frozen"] += p.numel()
    return groups


def lora_parameters(cfg: TinyModelConfig, r: int, targets: list[str]) -> int:
    """Adapter parameters of LoRA rank `r` on the language model's `targets` (A: r x in, B: out x r)."""
    h, q, kv, mlp = cfg.text_hidden, cfg.text_heads * cfg.text_head_dim, cfg.text_kv_heads * cfg.text_head_dim, \
        cfg.text_intermediate
    shapes = {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
              "gate_proj": (h, mlp), "up_proj": (h, mlp), "down_proj": (mlp, h)}
    unknown = sorted(set(targets) - set(shapes))
    if unknown:
        raise ValueError(f"lora.target_modules: {unknown} are not language-model projections of Qwen3-VL "
                         f"(known: {', '.join(shapes)})")
    return cfg.text_layers * sum(r * (shapes[t][0] + shapes[t][1]) for t in targets)


@dataclasses.dataclass
class Workload:
    """What one GPU processes per micro-step, and how the model is trained."""

    stage: str = "sft"  # sft | grpo
    lora_rank: int | None = None  # None = full fine-tuning
    lora_targets: list[str] = dataclasses.field(default_factory=list)
    sequences: int = 1  # SFT: pages per device; GRPO: completions per device per micro-step
    tokens: int = 8192  # tokens per sequence (SFT: the whole page; GRPO: prompt + completion)
    image_tokens: int = 1240  # merged vision tokens per page (a US-letter page at 1288 px: 40 x 31)
    completion_tokens: int = 0  # GRPO: tokens scored through the vocabulary per sequence


def _trainable(cfg: TinyModelConfig, groups: dict[str, int], w: Workload) -> int:
    if w.lora_rank is not None:
        return lora_parameters(cfg, w.lora_rank, w.lora_targets)
    return sum(groups.values())


def model_state_bytes(cfg: TinyModelConfig, w: Workload, strategy: str, n_gpus: int) -> dict[str, float]:
    """Weights, gradients and optimizer state per GPU, in bytes."""
    if strategy not in (*STRATEGIES, CPU):
        raise ValueError(f"strategy {strategy!r}: choose one of {', '.join((*STRATEGIES, CPU))}")
    groups = parameter_groups(cfg)
    p, t = sum(groups.values()), _trainable(cfg, groups, w)
    total_p = p + (t if w.lora_rank is not None else 0)  # adapters are extra parameters
    if strategy == CPU:  # fp32 weights, fp32 gradients, AdamW's two fp32 moments; no autocast, no buckets
        return {"weights": 4 * total_p, "gradients": 4 * t, "optimizer": 8 * t, "autocast_cache": 0}
    if strategy == "ddp":
        if w.stage == "sft":  # fp32 weights under autocast
            return {"weights": 4 * total_p, "gradients": 4 * t + 4 * t, "optimizer": 8 * t, "autocast_cache": 2 * t}
        return {"weights": 2 * total_p, "gradients": 2 * t + 2 * t, "optimizer": 4 * t, "autocast_cache": 0}
    n = n_gpus
    if strategy == "zero2":
        return {"weights": 2 * total_p, "gradients": 2 * t / n, "optimizer": 12 * t / n, "autocast_cache": 0}
    # ZeRO-3 materialises one module's weights at a time: count the largest single module (for Qwen3-VL the
    # token embedding, then a vision merger's first projection, then one MLP projection)
    merged = cfg.vision_hidden * cfg.merge_size ** 2
    largest = max((cfg.embedding_rows or cfg.vocab_size) * cfg.text_hidden, merged * merged,
                  cfg.text_hidden * cfg.text_intermediate)
    gathered = 2 * largest
    return {"weights": 2 * total_p / n + gathered, "gradients": 2 * t / n, "optimizer": 12 * t / n,
            "autocast_cache": 0}


def activation_bytes(cfg: TinyModelConfig, w: Workload, strategy: str) -> dict[str, float]:
    """Activation memory per GPU for `w.sequences` sequences, in bytes (gradient checkpointing on)."""
    s, h, rows = w.tokens, cfg.text_hidden, cfg.embedding_rows or cfg.vocab_size
    q, kv = cfg.text_heads * cfg.text_head_dim, cfg.text_kv_heads * cfg.text_head_dim
    hidden_bytes = 4 if strategy == CPU or (strategy == "ddp" and w.stage == "sft") else 2
    compute_bytes = 4 if strategy == CPU else 2  # autocast computes in bf16; the CPU path in fp32
    checkpoints = cfg.text_layers * s * h * hidden_bytes
    working = s * (2 * h + q + 2 * kv + q + 3 * cfg.text_intermediate) * compute_bytes
    scored = s if w.stage == "sft" else w.completion_tokens
    upcast = 4 if compute_bytes == 2 else 0  # transformers' loss calls .float(): a copy only of bf16 logits
    logits = scored * rows * (compute_bytes + upcast + 4)
    vision = 0
    if w.lora_rank is None:  # the vision tower trains under full fine-tuning
        patches = w.image_tokens * cfg.merge_size ** 2
        vision = (cfg.vision_depth * patches * cfg.vision_hidden * hidden_bytes
                  + patches * (6 * cfg.vision_hidden + 2 * cfg.vision_intermediate) * compute_bytes)
    kv_cache = 0
    if w.stage == "grpo":  # generation with transformers keeps K and V of every layer for every sequence
        kv_cache = cfg.text_layers * 2 * s * kv * compute_bytes
    per_seq = {"text_checkpoints": checkpoints, "recomputed_layer": working, "logits_and_loss": logits,
               "vision_tower": vision, "rollout_kv_cache": kv_cache}
    return {k: v * w.sequences for k, v in per_seq.items()}


def estimate(cfg: TinyModelConfig, w: Workload, strategy: str, n_gpus: int) -> dict[str, float]:
    """Every line of the per-GPU estimate in bytes, plus `total`."""
    lines = {**model_state_bytes(cfg, w, strategy, n_gpus), **activation_bytes(cfg, w, strategy)}
    lines["total"] = sum(lines.values())
    return lines


def workload_from_recipe(sections: dict, stage: str, image_tokens: int = 1240,
                         tokens: int | None = None) -> Workload:
    """The per-GPU workload a recipe's `sft:` or `grpo:` section asks for (`tokens` overrides its cap)."""
    sec = sections.get(stage)
    if not sec:
        raise ValueError(f"the recipe has no `{stage}:` section")
    lora = sec.get("lora") or {}
    rank = lora.get("r", 16) if lora.get("enabled") else None
    targets = lora.get("target_modules") or ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                             "down_proj"]
    if stage == "sft":
        optim = sec.get("optim") or {}
        return Workload(stage="sft", lora_rank=rank, lora_targets=targets,
                        sequences=int(optim.get("per_device_batch_size", 1)),
                        tokens=int(tokens or sec.get("max_length") or 8192), image_tokens=image_tokens)
    completion = int(sec.get("max_completion_length", 256))
    prompt = image_tokens + 32  # the page's vision tokens plus the chat template and instruction
    return Workload(stage="grpo", lora_rank=rank, lora_targets=targets,
                    sequences=int(sec.get("per_device_train_batch_size", 8)),
                    tokens=int(tokens or prompt + completion), image_tokens=image_tokens,
                    completion_tokens=completion)


def format_table(cfg: TinyModelConfig, w: Workload, gpus: list[int]) -> str:
    """One row per launcher x GPU count: the per-GPU breakdown in GiB."""
    cols = ["weights", "gradients", "optimizer", "autocast_cache", "activations", "total"]
    lines = [f"{'launcher':<8} {'GPUs':>4} " + " ".join(f"{c:>14}" for c in cols)]
    for strategy in STRATEGIES:
        for n in gpus:
            e = estimate(cfg, w, strategy, n)
            acts = sum(v for k, v in activation_bytes(cfg, w, strategy).items())
            row = {**e, "activations": acts}
            lines.append(f"{strategy:<8} {n:>4} " + " ".join(f"{row[c] / GIB:>14.1f}" for c in cols))
    return "\n".join(lines)
