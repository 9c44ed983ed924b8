"""Find HTML tables in model output and read them, tolerant of anything a model can write.

Three views of a table, each for one consumer:
- ``scan_tags`` / ``find_tables``: the RAW table-tag sequence with character positions (closure checks and
  locating tables in a Markdown page; lxml silently closes tags, so closure must be judged here).
- ``table_tree``: the PubTabNet TEDS tree (table/thead/tbody/tr/td … in postorder), built exactly as
  PubTabNet's ``src/metric.py`` builds it from lxml, so scores agree with the reference.
- the logical grid (rows of cells with spans, anchored at (row, column)) for structure checks and cell
  alignment lives in ``rewards.tables.grid``, built from the same parsed element.

Parsing never raises: empty or undecodable text simply has no table. lxml's HTML parser caps nesting at
255 levels, and every walk here is iterative, so deep nesting costs no recursion.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

# PubTabNet parses with lxml.html's parser; the plain etree one builds the same tree (both are libxml2's
# HTML parser) without lxml.html's per-element class lookup, which costs a third of the time.
_PARSER = etree.HTMLParser(remove_comments=True, encoding="utf-8")
# Lone surrogates make lxml drop the rest of the text node; they cannot come from real UTF-8 anyway.
_SURROGATE = re.compile("[\ud800-\udfff]")
CELL_TAGS = ("td", "th")
SECTION_TAGS = ("thead", "tbody", "tfoot")
# Raw-text elements (their content is never markup) and comments are skipped by the tag scan, as by lxml.
_TAG = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|textarea|title)\b.*?(?:</\1\s*>|\Z)"
    r"|<(/?)\s*(table|thead|tbody|tfoot|tr|td|th)(?=[\s/>]|\Z)([^<>]*)(>?)",
    re.I | re.S,
)
_BLANK_THEN_TEXT = re.compile(r"\n[ \t]*\n\s*(?=[^<\s])")
_LEADING_DIGITS = re.compile(r"\s*\+?(\d{1,18})")


@dataclass(frozen=True, slots=True)
class Tag:
    """One raw table-level tag: ``<td colspan=2>`` is Tag("td", False, attrs=" colspan=2", ...)."""

    name: str  # lower case: table, thead, tbody, tfoot, tr, td, th
    closing: bool
    start: int  # character span of the tag in the text
    end: int
    attrs: str = ""


@dataclass(frozen=True, slots=True)
class TableSpan:
    start: int
    end: int
    closed: bool  # False: the text ended (or a blank line and prose came) before the matching </table>


def scan_tags(text: str) -> list[Tag]:
    """Table-level tags in order, skipping comments and script/style/textarea/title content."""
    tags = []
    for m in _TAG.finditer(text):
        if m.group(3) is None:
            continue
        tags.append(Tag(m.group(3).lower(), m.group(2) == "/", m.start(), m.end(), m.group(4) or ""))
    return tags


def find_tables(text: str) -> list[TableSpan]:
    """Top-level ``<table>…</table>`` spans in order; nested tables stay inside their outer table.

    An unclosed table ends at the end of the text, or (as a Markdown HTML block does) at a blank line that
    is followed by something other than a tag.
    """
    spans: list[TableSpan] = []
    depth, start, checked = 0, 0, 0  # text before `checked` holds no blank-line break (linear scan)
    for tag in scan_tags(text):
        if tag.name != "table":
            continue
        if depth and not tag.closing:
            blank = _BLANK_THEN_TEXT.search(text, checked, tag.start)
            checked = tag.start
            if blank:  # the open table was abandoned before this new one
                spans.append(TableSpan(start, blank.start(), False))
                depth = 0
        if not tag.closing:
            if depth == 0:
                start = checked = tag.start
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                spans.append(TableSpan(start, tag.end, True))
    if depth:
        blank = _BLANK_THEN_TEXT.search(text, checked)
        spans.append(TableSpan(start, blank.start() if blank else len(text), False))
    return spans


def extract_tables(markdown: str) -> list[str]:
    """The HTML source of each top-level table of a Markdown page, in page order."""
    return [markdown[s.start : s.end] for s in find_tables(markdown)]


def parse_document(text: str) -> etree._Element | None:
    """lxml's HTML document for ``text`` (a bare ``<table>`` gets html/body around it), or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = _SURROGATE.sub("\ufffd", text)
    for source in (text, text.encode("utf-8")):  # bytes: for a str with an XML encoding declaration
        try:
            root = etree.fromstring(source, _PARSER)
        except (ValueError, etree.LxmlError):
            continue
        if root is not None:
            return root
    return None


def select_table(root: etree._Element | None) -> etree._Element | None:
    """The table PubTabNet scores (the first ``body/table``), else the first table anywhere."""
    if root is None:
        return None
    found = root.xpath("body/table")
    if not found:
        found = root.xpath("//table")
    return found[0] if found else None


def parse_table(text: str) -> etree._Element | None:
    return select_table(parse_document(text))


def parse_span(value: str | None) -> int:
    """A colspan/rowspan the way PubTabNet reads it (Python ``int``), with a fallback where that raises.

    PubTabNet calls ``int(value)``, which crashes on ``"2a"`` or ``""``. Fallback: the leading digits, as
    a browser reads them (``"2a"`` → 2), else 1. Values are compared, never expanded, so no clamp here.
    """
    if value is None:
        return 1
    try:
        return int(value)
    except (ValueError, TypeError):
        m = _LEADING_DIGITS.match(value)
        return int(m.group(1)) if m else 1


# ---------------------------------------------------------------- the TEDS tree (PubTabNet's definition)


class TagToken(str):
    """A tag token of cell content (``<b>``, ``</b>``): one token, unlike text, which is one per character."""


@dataclass(slots=True)
class FlatTree:
    """A TEDS tree in postorder. ``lml[i]`` is the postorder index of node i's leftmost leaf."""

    tags: list[str]
    spans: list[tuple[int, int] | None]  # (colspan, rowspan) of cells, None elsewhere
    contents: list[list[str] | None]  # cell content pieces: text runs and TagTokens; None elsewhere
    lml: list[int]
    weight: list[int]  # elements this node stands for in PubTabNet's denominator (itself + inside a cell)

    def __len__(self) -> int:
        return len(self.tags)

    @property
    def n_elements(self) -> int:
        """PubTabNet's node count: ``len(table.xpath('.//*'))`` (every element below the table)."""
        return sum(self.weight) - 1


def _cell_content(cell: etree._Element, cell_tags: tuple[str, ...]) -> tuple[list[str], int]:
    """PubTabNet's cell tokens (without the cell's own tags) as pieces, and the number of inner elements.

    Each inner element gives ``<tag>``, its text, its children, ``</tag>``, then its tail, except that a
    nested cell's tail is dropped (as the reference does for ``td``). Non-element nodes are skipped.
    """
    pieces: list[str] = [cell.text] if cell.text else []
    count = 0
    stack: list[tuple[etree._Element, bool]] = [(c, False) for c in reversed(cell)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node.tag, str):
            if node.tail:
                pieces.append(node.tail)
            continue
        if done:
            pieces.append(TagToken(f"</{node.tag}>"))
            if node.tail and node.tag not in cell_tags:
                pieces.append(node.tail)
            continue
        count += 1
        pieces.append(TagToken(f"<{node.tag}>"))
        if node.text:
            pieces.append(node.text)
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(node))
    return pieces, count


def table_tree(table: etree._Element, *, structure_only: bool = False, th_as_td: bool = True,
               max_nodes: int | None = None) -> FlatTree:
    """The TEDS tree of a table element: every element below the table is a node, except that a cell
    (``td``; also ``th`` with ``th_as_td``) is a leaf carrying its spans and content tokens.

    ``th_as_td=False`` is PubTabNet's behaviour: a ``th`` is an ordinary inner node whose text is never
    compared. ``max_nodes`` keeps only the first that many nodes in preorder (a prefix of the document:
    the bound on work); the kept nodes always form a tree, as a preorder prefix holds every ancestor.
    """
    cell_tags = ("td", "th") if th_as_td else ("td",)
    limit = max_nodes if max_nodes is not None else float("inf")
    # Phase 1, preorder: records (element, is_cell, child record indices); stop after `limit` nodes.
    # Children are read lazily, so a row of 100,000 cells costs nothing beyond the limit.
    records: list[tuple[etree._Element, bool, list[int]]] = [(table, False, [])]
    stack: list[tuple[Iterator[etree._Element], int]] = [(iter(table), 0)]
    while stack and len(records) < limit:
        children, parent = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        if not isinstance(child.tag, str):
            continue
        is_cell = child.tag in cell_tags
        records[parent][2].append(len(records))
        records.append((child, is_cell, []))
        if not is_cell:
            stack.append((iter(child), len(records) - 1))
    # Phase 2, postorder.
    tree = FlatTree([], [], [], [], [])
    post: list[tuple[int, bool, int]] = [(0, False, 0)]  # (record, expanded, first postorder index)
    while post:
        rec, expanded, first = post.pop()
        element, is_cell, kids = records[rec]
        if not expanded and kids:
            post.append((rec, True, len(tree.tags)))
            post.extend((k, False, 0) for k in reversed(kids))
            continue
        idx = len(tree.tags)
        tree.lml.append(tree.lml[first] if kids else idx)
        if is_cell:
            if structure_only:
                pieces: list[str] = []
                inner = sum(1 for _ in element.iterdescendants(etree.Element))
            else:
                pieces, inner = _cell_content(element, cell_tags)
            tree.tags.append("td")
            tree.spans.append((parse_span(element.get("colspan")), parse_span(element.get("rowspan"))))
            tree.contents.append(pieces)
            tree.weight.append(1 + inner)
        else:
            tree.tags.append(element.tag)
            tree.spans.append(None)
            tree.contents.append(None)
            tree.weight.append(1)
    return tree
