"""REFERENCE ONLY (tests and benchmarks): a plain apted + rapidfuzz rendering of PubTabNet's TEDS.

This is the PubTabNet definition written the obvious way, to check ``rewards.tables.teds`` against: the tree of
the ``body/table`` element (cells are ``td`` leaves with int colspan/rowspan and content tokens), APTED for
the tree edit distance, rapidfuzz for the token Levenshtein, ``1 - d / len(table.xpath('.//*'))``. Unlike
PubTabNet's script it is given documents where the reference is defined (wrapped tables, integer spans,
at least one element below each table); it is slow on purpose (nothing clever), never imported by rewards/.
"""
from __future__ import annotations

from apted import APTED, Config
from lxml import html
from rapidfuzz.distance import Levenshtein


class RefNode:
    def __init__(self, tag: str, colspan=None, rowspan=None, content=None):
        self.tag, self.colspan, self.rowspan, self.content = tag, colspan, rowspan, content
        self.children: list[RefNode] = []


class RefConfig(Config):
    def rename(self, a: RefNode, b: RefNode) -> float:
        if a.tag != b.tag or a.colspan != b.colspan or a.rowspan != b.rowspan:
            return 1.0
        if a.tag == "td" and (a.content or b.content):
            return Levenshtein.distance(a.content, b.content) / max(len(a.content), len(b.content))
        return 0.0

    def children(self, node: RefNode) -> list[RefNode]:
        return node.children


def _tokens(node, out: list[str]) -> None:
    out.append(f"<{node.tag}>")
    if node.text is not None:
        out.extend(node.text)
    for child in node.getchildren():
        _tokens(child, out)
    out.append(f"</{node.tag}>")
    if node.tag != "td" and node.tail is not None:
        out.extend(node.tail)


def _tree(node, structure_only: bool) -> RefNode:
    if node.tag == "td":
        toks: list[str] = []
        if not structure_only:
            _tokens(node, toks)
        return RefNode("td", int(node.attrib.get("colspan", "1")), int(node.attrib.get("rowspan", "1")),
                       toks[1:-1])
    out = RefNode(node.tag)
    out.children = [_tree(c, structure_only) for c in node.getchildren()]
    return out


def reference_teds(pred: str, gt: str, structure_only: bool = False) -> float:
    """PubTabNet TEDS of two full documents (``<html><body><table>…``), no clamping, no shortcuts."""
    parser = html.HTMLParser(remove_comments=True, encoding="utf-8")
    pred_t = html.fromstring(pred, parser=parser).xpath("body/table")[0]
    gt_t = html.fromstring(gt, parser=parser).xpath("body/table")[0]
    n = max(len(pred_t.xpath(".//*")), len(gt_t.xpath(".//*")))
    d = APTED(_tree(pred_t, structure_only), _tree(gt_t, structure_only), RefConfig()).compute_edit_distance()
    return 1.0 - d / n


def zhang_shasha(lml1: list[int], lml2: list[int], ren) -> float:
    """Textbook Zhang–Shasha (1989) on postorder trees (``lml``: leftmost-leaf index of each node), unit
    insert/delete, ``ren[i][j]`` rename costs: the engine-level reference for arbitrary cost matrices.

    apted 1.0.3 is not used there: with fractional rename costs on inner nodes it returns non-minimal
    distances on some trees (a brute-force search over mappings of 6-node trees confirms the smaller
    value this function finds). With PubTabNet's costs (fractional only on leaf cells) it agrees."""
    def keyroots(lml: list[int]) -> list[int]:
        return sorted({leaf: i for i, leaf in enumerate(lml)}.values())

    td = [[0.0] * len(lml2) for _ in lml1]
    for k1 in keyroots(lml1):
        for k2 in keyroots(lml2):
            a, b = lml1[k1], lml2[k2]
            fd = {(a - 1, b - 1): 0.0}
            for i in range(a, k1 + 1):
                fd[(i, b - 1)] = fd[(i - 1, b - 1)] + 1
            for j in range(b, k2 + 1):
                fd[(a - 1, j)] = fd[(a - 1, j - 1)] + 1
            for i in range(a, k1 + 1):
                for j in range(b, k2 + 1):
                    if lml1[i] == a and lml2[j] == b:
                        fd[(i, j)] = min(fd[(i - 1, j)] + 1, fd[(i, j - 1)] + 1, fd[(i - 1, j - 1)] + ren[i][j])
                        td[i][j] = fd[(i, j)]
                    else:
                        fd[(i, j)] = min(fd[(i - 1, j)] + 1, fd[(i, j - 1)] + 1,
                                         fd[(lml1[i] - 1, lml2[j] - 1)] + td[i][j])
    return td[-1][-1]
