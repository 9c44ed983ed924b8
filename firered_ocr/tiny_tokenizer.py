"""A small byte-level BPE tokenizer trained locally, shaped like Qwen's.

The tiny checkpoint needs a real tokenizer without a model hub: we train one with `tokenizers` on text
that looks like our documents (words, numbers, LaTeX, HTML tables, Markdown). Two choices matter for a
small model learning from pixels (docs/demo.md, "How a tiny model learns"):
- digits are split one by one, so a number costs one token per digit the model can read off the image;
- the table tags and math delimiters are whole tokens, so a table row is a handful of tokens rather than
  a dozen bytes each.
The corpus generator is seeded: same seed, same merges, same files.
"""
from __future__ import annotations

import random
from collections.abc import Iterator

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

# Qwen's special tokens, in Qwen's order; the processor and the model config look them up by text.
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
# Structural pieces of our output convention, kept whole (not special: they are decoded as text).
STRUCTURE_TOKENS = [
    "<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<td ", 'colspan="', 'rowspan="', '">',
    "$$", "\\[", "\\]", "\\(", "\\)", "\n\n",
]

_WORDS = (
    "the of and to in is for that with as on by this are be from at or an which we it can model table "
    "results data method figure value total mean number section page report analysis sample test time "
    "rate error input output layer text image document structure formula equation row column cell "
    "year revenue cost price growth share market region group control study patient dose effect "
    "north south east west first second third quarter annual summary notes appendix introduction "
    "conclusion abstract theorem proof lemma definition where let then if such all each over under"
).split()
_MACROS = (
    r"\frac \sqrt \sum \int \prod \lim \alpha \beta \gamma \delta \epsilon \theta \lambda \mu \pi \sigma "
    r"\phi \omega \infty \partial \nabla \cdot \times \leq \geq \neq \approx \in \mathbb \mathrm "
    r"\mathbf \left \right \begin \end \hat \bar \vec \tilde \log \exp \sin \cos"
).split()


def _sample_text(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:  # a paragraph
        words = [rng.choice(_WORDS) for _ in range(rng.randint(5, 30))]
        return " ".join(words).capitalize() + "."
    if kind == 1:  # a heading or list
        head = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 5))).title()
        return rng.choice(["# ", "## ", "- ", "1. "]) + head
    if kind == 2:  # an HTML table of numbers and words
        rows = []
        for _ in range(rng.randint(1, 5)):
            cells = []
            for _ in range(rng.randint(1, 4)):
                value = str(rng.randint(0, 9999)) if rng.random() < 0.6 else rng.choice(_WORDS)
                if rng.random() < 0.1:
                    cells.append(f'<td colspan="{rng.randint(2, 3)}">{value}</td>')
                else:
                    cells.append(f"<td>{value}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        return "<table>" + "".join(rows) + "</table>"
    if kind == 3:  # math
        parts = []
        for _ in range(rng.randint(2, 8)):
            macro = rng.choice(_MACROS)
            parts.append(f"{macro}{{{rng.choice('xyzabn')}}}^{{{rng.randint(0, 9)}}}")
        body = " + ".join(parts)
        return rng.choice([f"$${body}$$", f"${body}$", f"\\[{body}\\]"])
    # numbers, dates, percentages
    return " ".join(
        rng.choice([f"{rng.randint(0, 999)}.{rng.randint(0, 99)}", f"{rng.randint(1, 100)}%",
                    f"{rng.randint(1900, 2030)}", f"({rng.randint(1, 50)})"])
        for _ in range(rng.randint(3, 10))
    )


def _corpus(seed: int, n: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(n):
        yield _sample_text(rng)


def train_tokenizer(vocab_size: int = 1024, seed: int = 0, corpus_lines: int = 4000) -> Tokenizer:
    """Train the byte-level BPE (deterministic for a given seed and size)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(seed, corpus_lines), trainer=trainer)
    tok.add_tokens(STRUCTURE_TOKENS)
    return tok
