"""Typed configs from YAML plus key=value overrides, with errors that name the key and the file."""
from __future__ import annotations

import dataclasses
import re

import pytest

from firered_ocr.config_io import ConfigError, load_config


@dataclasses.dataclass
class Inner:
    lr: float = 1e-3
    steps: int = 10
    name: str | None = None


@dataclasses.dataclass
class Outer:
    inner: Inner = dataclasses.field(default_factory=Inner)
    flag: bool = False
    tags: list[str] = dataclasses.field(default_factory=list)
    weights: dict[str, float] = dataclasses.field(default_factory=dict)


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("run:\n  inner: {lr: 0.5, steps: 3}\n  tags: [a, b]\n  weights: {teds: 2}\n")
    cfg = load_config(Outer, path, ["inner.steps=7", "flag=true", "weights.latex=0.5"], section="run")
    assert cfg == Outer(inner=Inner(lr=0.5, steps=7), flag=True, tags=["a", "b"],
                        weights={"teds": 2.0, "latex": 0.5})
    assert load_config(Outer).inner.steps == 10


@pytest.mark.parametrize("override, message", [
    ("inner.stepz=3", "unknown key(s) stepz"),
    ("inner.steps=1.5", "expected an integer"),
    ("flag=maybe", "expected true/false"),
    ("novalue", "key=value"),
])
def test_bad_overrides_are_named(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(Outer, None, [override])


def test_bad_file_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("inner: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(Outer, bad)
    with pytest.raises(ConfigError, match="missing.yaml: config file not found"):
        load_config(Outer, tmp_path / "missing.yaml")
