"""LaTeX → vector drawing with ziamath, sized in points, with the baseline known.

Why ziamath (measured; docs/data.md, "Formula engine"): it is a real TeX-style math layout engine (the
STIX Two Math font and its OpenType MATH table), it typesets every construct the generator writes
(matrices, cases, aligned included, which matplotlib's mathtext cannot), it needs no TeX install, and its
SVG places in a PDF as vector paths through PyMuPDF. A formula becomes:
- an SVG whose viewBox puts the baseline at y = 0 (so ascent and depth are read off the box), and
- vector paths that `render_pdf` draws onto the page (gathered per page into one SVG overlay).
"""
from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

_VIEWBOX = re.compile(rb'viewBox="([-0-9.e ]+)"')
_ELEMENT = re.compile(rb"<(/?)(\w+)([^>]*)>")
_ATTR = re.compile(rb'([\w:-]+)="([^"]*)"')
_PATH_TOKEN = re.compile(rb"[MLQZ]|-?[0-9]*\.?[0-9]+(?:e-?[0-9]+)?")


class MathRenderError(ValueError):
    """The engine could not typeset this LaTeX."""


@dataclass(frozen=True)
class RenderedMath:
    latex: str
    display: bool
    size_pt: float
    svg: bytes
    width: float  # points
    min_x: float  # the viewBox's left edge (the drawing's x origin is the formula's start)
    ascent: float  # above the baseline
    depth: float  # below the baseline
    pdf_ops: bytes  # the drawing as PDF path operators, in the SVG's frame (y down, baseline at y = 0)

    @property
    def height(self) -> float:
        return self.ascent + self.depth


class MathRenderer:
    """ziamath with a per-process cache (inline formulas repeat; a cache hit costs nothing)."""

    def __init__(self, cache_size: int = 2048) -> None:
        import ziafont
        import ziamath
        from ziamath.tex import tex2mml

        # svg2=False: plain <path> elements without <symbol>/<use>, which MuPDF's SVG reader places
        # reliably (docs/data.md, "PyMuPDF facts"). The setting is ziafont's own global.
        ziafont.config.svg2 = False
        self._ziamath, self._tex2mml = ziamath, tex2mml
        self._cache: OrderedDict[tuple[str, float, bool], RenderedMath] = OrderedDict()
        self._cache_size = cache_size

    def render(self, latex: str, size_pt: float, display: bool) -> RenderedMath:
        key = (latex, round(size_pt, 2), display)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        try:
            mathml = _flatten_mrows(ET.fromstring(self._tex2mml(latex, inline=not display)))
            svg = self._ziamath.Math(mathml, size=size_pt, margin=0).svg().encode()
        except Exception as exc:  # ziamath raises assorted errors on LaTeX it cannot parse
            raise MathRenderError(f"ziamath cannot typeset {latex!r}: {type(exc).__name__}: {exc}") from None
        m = _VIEWBOX.search(svg)
        if m is None:
            raise MathRenderError(f"ziamath gave an SVG without a viewBox for {latex!r}")
        x0, y0, w, h = (float(v) for v in m.group(1).split())
        if not (w > 0 and h > 0):
            raise MathRenderError(f"ziamath gave an empty drawing for {latex!r}")
        ops = svg_to_pdf_ops(svg, latex)
        out = RenderedMath(latex, display, size_pt, svg, width=w, min_x=x0, ascent=-y0, depth=max(0.0, h + y0),
                           pdf_ops=ops)
        self._cache[key] = out
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out


def svg_to_pdf_ops(svg: bytes, latex: str = "") -> bytes:
    """ziamath's SVG (black filled `<path>`s of absolute M/L/Q/Z, black `<rect>`s, `<g>` groups) as PDF
    operators. MuPDF's SVG reader took 10–15 ms a formula to parse the same paths; this takes well under
    one. Anything else in the SVG (a transform, a stroke, another command) is refused, not guessed.
    """
    out: list[bytes] = [b"0 g"]
    for m in _ELEMENT.finditer(svg):
        closing, tag, attrs = m.groups()
        if closing or tag == b"svg":
            continue
        if tag == b"g":  # grouping only: a plain or black-filled group; a transform would be refused
            if dict(_ATTR.findall(attrs)) not in ({}, {b"fill": b"black"}):
                raise MathRenderError(f"unsupported <g{attrs.decode()}> in the drawing of {latex!r}")
            continue
        a = dict(_ATTR.findall(attrs))
        if a.pop(b"fill", b"black") != b"black":
            raise MathRenderError(f"unsupported fill in the drawing of {latex!r}")
        if tag == b"rect" and set(a) == {b"x", b"y", b"width", b"height"}:
            out.append(b" ".join((a[b"x"], a[b"y"], a[b"width"], a[b"height"], b"re f")))
        elif tag == b"path" and set(a) == {b"d"}:
            out.append(_path_ops(a[b"d"], latex))
        else:
            raise MathRenderError(f"unsupported <{tag.decode()}> in the drawing of {latex!r}")
    return b"\n".join(out)


def _path_ops(d: bytes, latex: str) -> bytes:
    tokens = _PATH_TOKEN.findall(d)
    ops: list[bytes] = []
    i, x, y = 0, 0.0, 0.0
    while i < len(tokens):
        cmd = tokens[i]
        if cmd in (b"M", b"L"):
            x, y = float(tokens[i + 1]), float(tokens[i + 2])
            ops.append(tokens[i + 1] + b" " + tokens[i + 2] + (b" m" if cmd == b"M" else b" l"))
            i += 3
        elif cmd == b"Q":  # quadratic → cubic: the control points 2/3 of the way to the quadratic one
            qx, qy, ex, ey = (float(t) for t in tokens[i + 1: i + 5])
            c1x, c1y = x + 2 / 3 * (qx - x), y + 2 / 3 * (qy - y)
            c2x, c2y = ex + 2 / 3 * (qx - ex), ey + 2 / 3 * (qy - ey)
            ops.append(b"%.3f %.3f %.3f %.3f %s %s c" % (c1x, c1y, c2x, c2y, tokens[i + 3], tokens[i + 4]))
            x, y = ex, ey
            i += 5
        elif cmd == b"Z":
            ops.append(b"h")
            i += 1
        else:
            raise MathRenderError(f"unsupported path data {cmd!r} in the drawing of {latex!r}")
    ops.append(b"f")
    return b"\n".join(ops)


def _flatten_mrows(element: ET.Element) -> ET.Element:
    """Replace every `<mrow>` that wraps a single child by that child (the same formula in MathML).

    latex2mathml wraps every braced argument (`x_{i}`) in its own mrow, and ziamath lays each mrow's
    children out twice (once to measure stretchy operators), so the cost doubles with every level of
    nesting. Unwrapping measured 1.3–2.7× faster on the generator's formulas, with the same drawing.
    """
    for i, child in enumerate(list(element)):
        _flatten_mrows(child)
        if (child.tag.rpartition("}")[2] == "mrow" and len(child) == 1 and not child.attrib
                and not (child.text or "").strip() and not (child.tail or "").strip()):
            element[i] = child[0]
    return element


LatexCheck = Callable[[str], str | None]  # None = accepted, else the reason


def checked_formula(rng: random.Random, draw: Callable[[random.Random], str], renderer: MathRenderer,
                    check: LatexCheck, size_pt: float, display: bool, *, max_depth: float | None = None,
                    max_width: float | None = None, tries: int = 12) -> RenderedMath | None:
    """Draw formulas until one is accepted by the engine AND the LaTeX checker and fits the given box.

    Returns None when `tries` draws all failed (the caller then writes text instead). The draws consume
    the document's own RNG, so the outcome is deterministic.
    """
    for _ in range(tries):
        latex = draw(rng)
        if check(latex) is not None:
            continue
        try:
            rendered = renderer.render(latex, size_pt, display)
        except MathRenderError:
            continue
        if max_depth is not None and rendered.depth > max_depth:
            continue
        if max_width is not None and rendered.width > max_width:
            continue
        return rendered
    return None
