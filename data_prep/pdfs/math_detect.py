"""Where a PDF page has mathematics: its text layer holds only debris there, never a formula.

A TeX formula in a PDF is glyphs placed one by one in math fonts; its text layer reads like
`f0(q) = 1 eq/TB −1 (3)`, with `�` or private-use code points for big brackets and radicals. No text-layer
method turns that back into LaTeX, so the labeller's job is to know where it is and keep it out of the label.
A span is math when
- its font is a math font and it holds a letter, digit, symbol or control character: TeX's Computer Modern / AMS math, symbol and extension fonts (CMMI, CMSY, CMEX,
  CMBSY, MSBM, MSAM, the Euler and RSFS fonts), Latin Modern / STIX / XITS / Cambria / any OpenType `*Math`
  font (a subset prefix such as `ABCDEF+` is ignored); or
- its text is symbol-dense: at least two mathematical characters (operators, arrows, Greek letters, math
  alphanumerics) making at least a quarter of its non-space characters; or
- it holds a replacement character or a private-use code point: a glyph with no Unicode meaning, which in
  practice is a piece of a big operator or bracket.
Punctuation alone in a math font (TeX's dot leaders in a table of contents, list bullets) is not math.
"""
from __future__ import annotations

import re
import unicodedata

_MATH_FONT = re.compile(
    r"^(?:cmmi|cmsy|cmex|cmbsy|cmmib|msbm|msam|eufm|eufb|eusm|eusb|eurm|eurb|rsfs|lmmathitalic|lmmathsymbols"
    r"|lmmathextension|latinmodern-?math|stix\w*math|stixmath|xits\w*math|cambria\s*math|cambriamath"
    r"|asana\w*math|texgyre\w*math|dejavumath\w*|\w*-math$|\w*math$)",
    re.IGNORECASE)
_EQUATION_NUMBER = re.compile(r"^\(\s*\d{1,3}(?:\.\d{1,3})?[a-z]?\s*\)$")


def is_math_font(font: str) -> bool:
    name = font.split("+", 1)[1] if "+" in font[:8] else font  # drop a subset tag like ABCDEF+
    return bool(_MATH_FONT.match(name.replace(" ", "")) or _MATH_FONT.match(name))


def is_math_char(ch: str) -> bool:
    code = ord(ch)
    if 0x0391 <= code <= 0x03C9 or 0x03D1 <= code <= 0x03F5:  # Greek letters
        return True
    if 0x2190 <= code <= 0x22FF or 0x27C0 <= code <= 0x27FF or 0x2900 <= code <= 0x2AFF:
        return True  # arrows, mathematical operators, supplemental operators and arrows
    if 0x1D400 <= code <= 0x1D7FF:  # mathematical alphanumeric symbols
        return True
    return unicodedata.category(ch) == "Sm" and ch not in "+-<=>|~¬"  # ASCII operators are common in prose


def is_debris_char(ch: str) -> bool:
    code = ord(ch)
    return ch == "\ufffd" or 0xE000 <= code <= 0xF8FF or 0xF0000 <= code


def is_math_span(span: dict) -> bool:
    text = span.get("text", "")
    if not text.strip():
        return False
    if is_math_font(span.get("font", "")):
        # TeX sets dot leaders, bullets and the copyright circle in math fonts too: punctuation alone is no formula
        return any(unicodedata.category(c)[0] in "LNSC" or is_debris_char(c) for c in text if not c.isspace())
    if any(is_debris_char(c) for c in text):
        return True
    visible = [c for c in text if not c.isspace()]
    n_math = sum(1 for c in visible if is_math_char(c))
    return n_math >= 2 and n_math * 4 >= len(visible)


def is_equation_number(text: str) -> bool:
    """`(3)`, `(2.1a)`: the number of a display equation, left behind when the equation is taken out."""
    return bool(_EQUATION_NUMBER.match(text.strip()))


def block_math_kind(line_flags: list[bool]) -> str | None:
    """A text block from its lines' math flags: None (no math), "display_math" (mostly math lines: a
    displayed formula) or "inline_math" (prose with formulas inside it)."""
    n_math = sum(line_flags)
    if n_math == 0:
        return None
    return "display_math" if n_math * 2 >= len(line_flags) else "inline_math"
