"""Named model shapes for `firered-ocr make-tiny-model --shape NAME`.

- `tiny`: the default random-weight checkpoint (745k parameters) every test and the demo run on.
- `qwen3-vl-2b`: Qwen/Qwen3-VL-2B-Instruct's published architecture with random weights: the model the 2B
  recipes fine-tune, built offline so that what breaks only at the real shape (memory, deepstack layers,
  M-RoPE sections, tied embeddings, 1288-px pages) is met on this machine rather than on a rented GPU.
- `qwen3-vl-2b-narrow`: the same structure (layer counts, deepstack indexes, M-RoPE sections, head_dim, tied
  embeddings, 151,936 embedding rows, the hub processor's pixel limits) with every width shrunk, so tests can
  check the structure in seconds.

Where the 2B numbers come from (hub `config.json` of Qwen/Qwen3-VL-2B-Instruct; the hub cannot be reached
from the machine this was written on, so they were read from independent public copies of that file, found
by code search: test fixtures of two unrelated inference engines that vendor the 2B config verbatim, which
agree on every number below). Third-party hand-written config classes disagree on the text MLP width (5632,
8192); the vendored config.json copies say 6144, which is also the width of Qwen3-1.7B's MLP (the same
28-layer, 2048-wide text stack) and gives the ~2.1 B parameters the model's name implies.
    text_config:   hidden_size 2048, num_hidden_layers 28, num_attention_heads 16, num_key_value_heads 8,
                   head_dim 128, intermediate_size 6144, vocab_size 151936, rope_theta 5000000,
                   max_position_embeddings 262144, mrope_section [24, 20, 20] (interleaved),
                   tie_word_embeddings true
    vision_config: depth 24, hidden_size 1024, intermediate_size 4096, num_heads 16, patch_size 16,
                   spatial_merge_size 2, temporal_patch_size 2, out_hidden_size 2048,
                   num_position_embeddings 2304, deepstack_visual_indexes [5, 11, 17]
    preprocessor_config.json: size {shortest_edge: 65536, longest_edge: 16777216} pixels, i.e. 64 to
                   16,384 merged tokens of 32x32 px; image_mean = image_std = [0.5, 0.5, 0.5]

The tokenizer is the locally trained one unless `tokenizer_file` (`--tokenizer`) names a tokenizer.json, such
as Qwen's own (no package on a registry ships Qwen's release; see docs/real-shape.md): the embedding always
has the published 151,936 rows, so memory and speed are the real model's either way.
"""
from __future__ import annotations

import dataclasses

from firered_ocr.tiny_model import TinyModelConfig

QWEN3_VL_2B = TinyModelConfig(
    shape="qwen3-vl-2b",
    embedding_rows=151936,
    text_hidden=2048,
    text_layers=28,
    text_heads=16,
    text_kv_heads=8,
    text_head_dim=128,
    text_intermediate=6144,
    max_positions=262144,
    rope_theta=5000000.0,
    mrope_section=[24, 20, 20],
    tie_word_embeddings=True,
    vision_depth=24,
    vision_hidden=1024,
    vision_intermediate=4096,
    vision_heads=16,
    patch_size=16,
    merge_size=2,
    temporal_patch_size=2,
    vision_positions=2304,
    deepstack_indexes=[5, 11, 17],
    min_image_tokens=65536 // 1024,  # the hub processor's pixel limits, in 32x32-px merged tokens
    max_image_tokens=16777216 // 1024,
    save_dtype="bfloat16",  # as the hub ships it; training code loads it in its own dtype
)

# Same structure, narrow widths: every count, index and section above is kept; only widths shrink (head_dim
# stays 128 so the M-RoPE sections stay [24, 20, 20]; 2304 vision positions stay a 48x48 grid).
QWEN3_VL_2B_NARROW = dataclasses.replace(
    QWEN3_VL_2B,
    shape="qwen3-vl-2b-narrow",
    text_hidden=64,
    text_heads=2,
    text_kv_heads=1,
    text_intermediate=96,
    vision_hidden=32,
    vision_intermediate=64,
    vision_heads=2,
    save_dtype="float32",
)

SHAPES: dict[str, TinyModelConfig] = {
    "tiny": TinyModelConfig(),
    "qwen3-vl-2b": QWEN3_VL_2B,
    "qwen3-vl-2b-narrow": QWEN3_VL_2B_NARROW,
}


def shape_config(name: str) -> TinyModelConfig:
    try:
        return SHAPES[name]
    except KeyError:
        raise ValueError(f"unknown shape {name!r}; choose one of {', '.join(SHAPES)}") from None
