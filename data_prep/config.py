"""Typed configuration of the data-prep stage: the synthetic profiles and the run settings of both commands.

A profile says what the pages look like; a run config says how many, where, and how the work is split.
Everything that changes the bytes written is part of `content_key()`, which an output folder remembers so
that a resumed or sharded run cannot silently mix two configurations.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path


TABLE_ENGINES = ("union_refine", "lines")  # data_prep.pdfs.tables.ENGINES, the default first
SILVER_LABELLER = "2: union+refine tables, math left out, label_kind silver/silver_partial"


class ConfigError(ValueError):
    """A bad option or profile: reported as one line, exit status 2."""


@dataclass(frozen=True)
class DocumentProfile:
    """The rich synthetic documents: headings, paragraphs, lists, tables, formulas, 1–2 columns."""

    name: str = "default"
    dpi: int = 144
    pages_per_doc: tuple[int, ...] = (1, 1, 2, 2, 3)  # drawn uniformly per document
    page_sizes: tuple[str, ...] = ("letter", "a4")
    margin_pt: tuple[float, float] = (36.0, 80.0)
    two_column_prob: float = 0.35
    column_gap_pt: tuple[float, float] = (16.0, 30.0)
    font_size_pt: tuple[float, float] = (9.0, 12.0)
    line_height: tuple[float, float] = (1.2, 1.5)
    # CSS families: the first three are MuPDF built-ins; the others are matplotlib's bundled TTFs.
    families: tuple[str, ...] = ("serif", "sans-serif", "Times", "DejaVu Serif", "DejaVu Sans", "STIX")
    # Relative frequency of the blocks that follow a heading.
    weight_paragraph: float = 0.46
    weight_list: float = 0.12
    weight_table: float = 0.28
    weight_display_math: float = 0.14  # in documents with math
    inline_math_prob: float = 0.18  # per sentence, in documents with math
    math_doc_prob: float = 0.55  # share of documents with formulas (reports and forms have none)
    table_rows: tuple[int, int] = (1, 40)
    table_cols: tuple[int, int] = (2, 7)
    merge_prob: float = 0.5  # a table gets merged cells (colspan headers, rowspan groups, merged body cells)
    page_number_prob: float = 0.5  # printed page numbers, absent from the ground truth (a footer)


@dataclass(frozen=True)
class TinyTablesProfile:
    """One small table of small numbers per image: the domain a 745k-parameter model learns on a CPU.

    Sizes are in points and the page renders at `dpi` (72 → 1 pt = 1 px), so the defaults give a
    192×128 px image with an 18 px font (docs/demo.md, "How a tiny model learns").
    """

    name: str = "tiny-tables"
    dpi: int = 72
    width_pt: float = 192.0
    height_pt: float = 128.0
    font_size_pt: float = 18.0
    family: str = "sans-serif"
    rows: tuple[int, int] = (2, 4)
    cols: tuple[int, int] = (2, 3)
    digits: tuple[int, int] = (1, 3)
    margin_pt: float = 6.0
    # The method benchmark's harder variant (0 = off, and the pages are then byte-identical to before):
    merged_share: float = 0.0  # share of tables with one cell spanning two columns (tables of >= 2 columns)
    formula_share: float = 0.0  # share of pages with a short display formula under the table
    formula_size_pt: float = 20.0


Profile = DocumentProfile | TinyTablesProfile


def profile_by_name(name: str) -> Profile:
    if name == "default":
        return DocumentProfile()
    if name == "tiny-tables":
        return TinyTablesProfile()
    raise ConfigError(f"unknown profile {name!r} (known: default, tiny-tables)")


def apply_overrides(profile: Profile, overrides: list[str]) -> Profile:
    """`["font_size_pt=20", "rows=2,3"]` → a new profile; values take the field's type (tuples by commas)."""
    hints = typing.get_type_hints(type(profile))
    changes: dict[str, object] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or key not in hints or key == "name":
            known = ", ".join(f.name for f in dataclasses.fields(profile) if f.name != "name")
            raise ConfigError(f"bad profile override {item!r}: expected FIELD=VALUE with FIELD one of {known}")
        changes[key] = _coerce(hints[key], raw, item)
    return dataclasses.replace(profile, **changes)


def _coerce(hint: object, raw: str, item: str) -> object:
    origin = typing.get_origin(hint)
    try:
        if origin is tuple:
            args = typing.get_args(hint)
            kind = args[0]
            values = tuple(kind(v) for v in raw.split(",") if v.strip())
            if args[-1] is not Ellipsis and len(values) != len(args):
                raise ValueError(f"needs {len(args)} comma-separated values")
            return values
        return hint(raw)  # type: ignore[operator]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad profile override {item!r}: {exc}") from None


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> "Shard":
        i, sep, n = text.partition("/")
        try:
            shard = cls(int(i), int(n))
        except ValueError:
            shard = None
        if not sep or shard is None or not (shard.count >= 1 and 0 <= shard.index < shard.count):
            raise ConfigError(f"--shard expects I/N with 0 <= I < N, got {text!r}")
        return shard

    def owns(self, item_index: int) -> bool:
        """Round-robin over the ordered work items: every shard gets a similar mix, and the split depends
        only on the item list, never on timing or worker count."""
        return item_index % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class SynthRunConfig:
    n_pages: int
    out: Path
    profile: Profile = field(default_factory=DocumentProfile)
    seed: int = 0
    workers: int = 1
    augment: bool = False
    dpi: int | None = None  # None → the profile's dpi
    shard: Shard = field(default_factory=Shard)
    val_fraction: float = 0.05
    keep_pdf: bool = False
    progress: bool = True

    @property
    def render_dpi(self) -> int:
        return self.dpi if self.dpi is not None else self.profile.dpi

    def content_key(self) -> dict:
        """What decides the bytes of the dataset (not workers, shard or progress)."""
        return {"command": "synth", "n_pages": self.n_pages, "seed": self.seed, "augment": self.augment,
                "dpi": self.render_dpi, "val_fraction": self.val_fraction,
                "profile": {"type": type(self.profile).__name__, **_plain(dataclasses.asdict(self.profile))}}


@dataclass(frozen=True)
class PdfRunConfig:
    inputs: tuple[Path, ...]
    out: Path
    dpi: int = 144
    seed: int = 0  # only the augmentation draws from it
    workers: int = 1
    augment: bool = False
    shard: Shard = field(default_factory=Shard)
    val_fraction: float = 0.05
    accept_repaired: bool = False
    progress: bool = True
    # "union_refine": every kind of table (0.93 TEDS on ICDAR 2013, ~0.8 CPU s a page); "lines": ruled grids
    # only (0.38, ~0.08 s), for corpora known to rule every table. See docs/pdf-labels.md.
    table_engine: str = "union_refine"

    def __post_init__(self) -> None:
        if self.table_engine not in TABLE_ENGINES:
            raise ConfigError(f"table engine must be one of {', '.join(TABLE_ENGINES)}, got {self.table_engine!r}")

    def content_key(self) -> dict:
        # `labeller` names the silver-label rules: a folder labelled by older rules is not resumed with new ones.
        return {"command": "pdfs", "dpi": self.dpi, "seed": self.seed, "augment": self.augment,
                "val_fraction": self.val_fraction, "accept_repaired": self.accept_repaired,
                "table_engine": self.table_engine, "labeller": SILVER_LABELLER}


def _plain(obj: object) -> object:
    """Tuples → lists, so that a key read back from JSON compares equal."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
