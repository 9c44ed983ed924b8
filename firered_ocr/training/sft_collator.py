"""Batches for supervised fine-tuning: prompt (with the page image) + answer + `<|im_end|>`, loss on the answer.

The prompt goes through the processor (which expands `<|image_pad|>` into one token per image token and
returns `mm_token_type_ids`); the answer is tokenized on its own and appended. Tokenizing the two parts
separately puts the prompt/answer boundary exactly where the label mask starts: tokenizing the joined
string could merge the template's trailing newline with the answer's first characters.

Labels are -100 on the prompt and the padding, so only the answer tokens and the end-of-turn token carry
loss: the model learns to stop, and never learns to predict the instruction. Batches are padded on the
right; the model's multimodal rope positions follow the attention mask, so padding side does not change
the loss. `mm_token_type_ids` (1 on image tokens, 0 elsewhere, 0 over the answer and padding) travels with
the batch: Qwen3-VL refuses `image_grid_thw` without it (docs/training.md, "Processor traps").
"""
from __future__ import annotations

import dataclasses
import warnings

from firered_ocr.prompts import OCR_INSTRUCTION, build_messages

IGNORE_INDEX = -100
END_OF_TURN = "<|im_end|>"


@dataclasses.dataclass
class SFTCollator:
    processor: object
    instruction: str = OCR_INSTRUCTION
    max_length: int | None = None  # cap on prompt + answer tokens; longer answers are cut (with a warning)
    image_key: str = "image"
    answer_key: str = "ground_truth"

    def __post_init__(self) -> None:
        tok = self.processor.tokenizer
        self.prompt_text = self.processor.apply_chat_template(build_messages(self.instruction), tokenize=False,
                                                              add_generation_prompt=True)
        self.end_id = tok.convert_tokens_to_ids(END_OF_TURN)
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else self.end_id
        self._warned = False

    def answer_ids(self, answer: str) -> list[int]:
        return self.processor.tokenizer(answer, add_special_tokens=False)["input_ids"] + [self.end_id]

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        images = [row[self.image_key].convert("RGB") for row in rows]
        for row in rows:
            if row[self.answer_key] is None:
                raise ValueError(f"page {row.get('id')!r} has no ground truth: SFT needs labelled pages")
        prompts = self.processor(text=[self.prompt_text] * len(rows), images=images, return_tensors="pt",
                                 padding=False, return_mm_token_type_ids=True)
        seqs, labels, types = [], [], []
        for i, row in enumerate(rows):
            p_ids = prompts["input_ids"][i].tolist() if hasattr(prompts["input_ids"], "shape") \
                else list(prompts["input_ids"][i])
            p_types = list(prompts["mm_token_type_ids"][i])
            a_ids = self.answer_ids(row[self.answer_key])
            if self.max_length is not None and len(p_ids) + len(a_ids) > self.max_length:
                keep = max(0, self.max_length - len(p_ids))
                if not self._warned:
                    warnings.warn(f"page {row.get('id')!r}: {len(p_ids) + len(a_ids)} tokens > max_length "
                                  f"{self.max_length}; answers are cut (the end-of-turn token is lost)",
                                  stacklevel=2)
                    self._warned = True
                a_ids = a_ids[:keep]
            seqs.append(p_ids + a_ids)
            labels.append([IGNORE_INDEX] * len(p_ids) + a_ids)
            types.append([int(t) for t in p_types] + [0] * len(a_ids))
        width = max(len(s) for s in seqs)

        def pad(rows_: list[list[int]], value: int) -> torch.Tensor:
            return torch.tensor([r + [value] * (width - len(r)) for r in rows_], dtype=torch.long)

        return {
            "input_ids": pad(seqs, self.pad_id),
            "attention_mask": pad([[1] * len(s) for s in seqs], 0),
            "labels": pad(labels, IGNORE_INDEX),
            "mm_token_type_ids": pad(types, 0),
            "pixel_values": prompts["pixel_values"],
            "image_grid_thw": prompts["image_grid_thw"],
        }
