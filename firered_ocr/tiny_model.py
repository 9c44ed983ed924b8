"""Build a tiny, random-weight checkpoint of the real Qwen3-VL architecture, fully offline.

It is the embedded default model wherever the user names none (tests, `make demo`, the app): it loads
through the same `AutoProcessor` / `AutoModelForImageTextToText` path as `Qwen/Qwen3-VL-2B-Instruct`,
so every code path that runs on it runs on the real model too. Sizes follow the configuration measured
to learn from pixels on 2 CPU cores (docs/demo.md, "How a tiny model learns"): 16 px patches merged 2×2, so one image
token covers 32×32 px, and text of at least one patch wide.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from firered_ocr.tiny_tokenizer import train_tokenizer

# Qwen-style chat template. Images inside a message's content list become
# <|vision_start|><|image_pad|><|vision_end|>, which the processor expands to one pad per image token.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' or 'image' in item or 'image_url' in item %}"
    "{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclasses.dataclass
class TinyModelConfig:
    """Sizes of the tiny checkpoint (defaults: the configuration measured to learn on 2 cores)."""

    seed: int = 0
    vocab_size: int = 1024
    text_hidden: int = 128
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    text_head_dim: int = 32
    text_intermediate: int = 384
    max_positions: int = 4096
    vision_depth: int = 2
    vision_hidden: int = 64
    vision_intermediate: int = 128
    vision_heads: int = 4
    patch_size: int = 16
    merge_size: int = 2
    temporal_patch_size: int = 2
    vision_positions: int = 64
    # One image token covers (patch*merge)^2 = 32x32 px; 256 tokens caps a page at about 0.26 Mpx, which
    # keeps the random-weight default quick on a CPU (a trained 2B model wants its hub processor's limits).
    min_image_tokens: int = 4
    max_image_tokens: int = 256
    # A random-weight model rarely emits an end token: cap its default generation budget.
    max_new_tokens: int = 256
    # Fields a published architecture sets differently (see model_shapes.py); the defaults keep the tiny model.
    shape: str = "tiny"  # the name recorded in firered_tiny.json
    embedding_rows: int | None = None  # rows of the token embedding; None = the tokenizer's length
    rope_theta: float = 10000.0
    mrope_section: list[int] | None = None  # None = head_dim/2 split as evenly as the tiny model needs
    deepstack_indexes: list[int] | None = None  # vision layers feeding the LM's first layers; None = the last
    tie_word_embeddings: bool = False
    save_dtype: str = "float32"  # dtype of the written weights (the hub ships bfloat16)
    tokenizer_file: str | None = None  # a tokenizer.json to use (e.g. Qwen's own) instead of training one


def _token_ids(tokenizer, names: list[str]) -> dict[str, int]:
    ids = {name: tokenizer.convert_tokens_to_ids(name) for name in names}
    missing = [n for n, i in ids.items() if i is None or i == tokenizer.unk_token_id]
    if missing:
        raise RuntimeError(f"tokenizer lacks special tokens {missing}")
    return ids


def build_processor(cfg: TinyModelConfig):
    """The real Qwen3-VL processor classes around a locally trained tokenizer."""
    from transformers import PreTrainedTokenizerFast, Qwen3VLProcessor
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    if cfg.tokenizer_file:
        from tokenizers import Tokenizer

        try:
            raw = Tokenizer.from_file(str(cfg.tokenizer_file))
        except Exception as exc:  # tokenizers raises a bare Exception for unreadable or malformed files
            raise ValueError(f"{cfg.tokenizer_file}: not a readable tokenizer.json ({exc})") from None
        missing = [t for t in ("<|endoftext|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                               "<|image_pad|>", "<|video_pad|>") if raw.token_to_id(t) is None]
        if missing:
            raise ValueError(f"{cfg.tokenizer_file}: lacks the Qwen special tokens {missing}")
    else:
        raw = train_tokenizer(vocab_size=cfg.vocab_size, seed=cfg.seed)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        model_max_length=cfg.max_positions,
        padding_side="left",  # batched generation appends to the right
        chat_template=CHAT_TEMPLATE,
    )
    pixels_per_token = (cfg.patch_size * cfg.merge_size) ** 2
    # Set patch and merge sizes explicitly: the defaults are patch 14 and a hub-sized minimum that
    # silently upscales small pages (docs/training.md, "Processor traps").
    vision_kwargs = dict(
        patch_size=cfg.patch_size,
        merge_size=cfg.merge_size,
        temporal_patch_size=cfg.temporal_patch_size,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    image_processor = Qwen2VLImageProcessor(
        size={"shortest_edge": cfg.min_image_tokens * pixels_per_token,
              "longest_edge": cfg.max_image_tokens * pixels_per_token},
        **vision_kwargs,
    )
    video_processor = Qwen3VLVideoProcessor(
        size={"shortest_edge": cfg.min_image_tokens * pixels_per_token,
              "longest_edge": cfg.max_image_tokens * pixels_per_token * 2},
        **vision_kwargs,
    )
    return Qwen3VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                            video_processor=video_processor, chat_template=CHAT_TEMPLATE)


def build_model(cfg: TinyModelConfig, tokenizer):
    import torch
    from transformers import GenerationConfig, Qwen3VLConfig, Qwen3VLForConditionalGeneration

    ids = _token_ids(tokenizer, ["<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>",
                                 "<|im_end|>", "<|endoftext|>"])
    # mrope splits head_dim/2 rotary frequencies over (time, height, width); the sections must sum to it.
    half = cfg.text_head_dim // 2
    mrope = list(cfg.mrope_section or [half - 2 * (half // 3), half // 3, half // 3])
    if sum(mrope) != half:
        raise ValueError(f"mrope_section {mrope} sums to {sum(mrope)}, not head_dim/2 = {half}")
    deepstack = list(cfg.deepstack_indexes if cfg.deepstack_indexes is not None else [cfg.vision_depth - 1])
    if any(not 0 <= i < cfg.vision_depth for i in deepstack):
        raise ValueError(f"deepstack_indexes {deepstack} must be vision layers 0..{cfg.vision_depth - 1}")
    rows = cfg.embedding_rows or len(tokenizer)
    if rows < len(tokenizer):
        raise ValueError(f"embedding_rows {rows} is smaller than the tokenizer's {len(tokenizer)} tokens")
    config = Qwen3VLConfig(
        text_config=dict(
            vocab_size=rows,
            hidden_size=cfg.text_hidden,
            intermediate_size=cfg.text_intermediate,
            num_hidden_layers=cfg.text_layers,
            num_attention_heads=cfg.text_heads,
            num_key_value_heads=cfg.text_kv_heads,
            head_dim=cfg.text_head_dim,
            max_position_embeddings=cfg.max_positions,
            rope_parameters={"rope_type": "default", "rope_theta": cfg.rope_theta,
                             "mrope_section": mrope, "mrope_interleaved": True},
            pad_token_id=ids["<|endoftext|>"],
            tie_word_embeddings=cfg.tie_word_embeddings,
        ),
        vision_config=dict(
            depth=cfg.vision_depth,
            hidden_size=cfg.vision_hidden,
            intermediate_size=cfg.vision_intermediate,
            num_heads=cfg.vision_heads,
            patch_size=cfg.patch_size,
            spatial_merge_size=cfg.merge_size,
            temporal_patch_size=cfg.temporal_patch_size,
            out_hidden_size=cfg.text_hidden,  # must equal the text hidden size
            num_position_embeddings=cfg.vision_positions,
            deepstack_visual_indexes=deepstack,
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=cfg.tie_word_embeddings,
    )
    torch.manual_seed(cfg.seed)
    model = Qwen3VLForConditionalGeneration(config).eval()
    if cfg.save_dtype != "float32":
        model = model.to(getattr(torch, cfg.save_dtype))  # one tensor at a time: no second full copy
    model.generation_config = GenerationConfig(
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"],
        do_sample=False,
        max_new_tokens=cfg.max_new_tokens,
    )
    return model


def build_tiny_model(out_dir: str | Path, seed: int = 0, cfg: TinyModelConfig | None = None) -> Path:
    """Write a complete Hugging Face checkpoint (model, processor, tokenizer) to `out_dir`."""
    cfg = dataclasses.replace(cfg or TinyModelConfig(), seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    processor = build_processor(cfg)
    model = build_model(cfg, processor.tokenizer)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    (out / "firered_tiny.json").write_text(
        json.dumps({"built_by": "firered-ocr make-tiny-model", "parameters": n_params,
                    "config": dataclasses.asdict(cfg)}, indent=2, sort_keys=True) + "\n")
    return out


def is_tiny_checkpoint(path: str | Path) -> bool:
    return (Path(path) / "firered_tiny.json").is_file()
