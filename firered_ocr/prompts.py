"""The output convention and the prompt that asks for it, written once.

Every part of the project speaks this convention: the synthetic ground truth (data_prep), the rewards
that check it (rewards), the model's training targets, and the app's renderer. Changing it here changes
what the model is asked for; the ground truth must then change with it.
"""
from __future__ import annotations

OUTPUT_CONVENTION = """\
Output convention (Markdown):
- Reading order: top to bottom, left to right; on a two-column page the whole left column comes first.
- Headings as `#`, `##`, ...; paragraphs separated by one blank line; lists as `- ` or `1. `.
- Tables as HTML: `<table>`, `<tr>`, `<td>` only (header cells are `<td>` too), with `colspan` and
  `rowspan` attributes for merged cells and no other attributes. Every tag is closed.
- Display math as `$$...$$` on its own lines; inline math as `$...$`. LaTeX that compiles with amsmath.
- Nothing else: no page headers or footers, no commentary, no code fences around the page.
"""

# The instruction the model sees with each page image. Short on purpose: FireRed-OCR and olmOCR both
# train with a fixed instruction, and the model learns the convention from the targets, not the words.
OCR_INSTRUCTION = (
    "Convert this document page to Markdown. Tables as HTML <table> with colspan/rowspan, "
    "math as $...$ inline and $$...$$ display, in reading order."
)


def build_messages(instruction: str = OCR_INSTRUCTION, answer: str | None = None) -> list[dict]:
    """Chat messages for one page: the image placeholder, then the instruction; optionally the answer.

    The image itself travels separately (the processor's `images=`); the `{"type": "image"}` item is
    where the chat template puts the vision tokens.
    """
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": instruction}]}]
    if answer is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return messages
