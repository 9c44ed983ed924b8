"""Helpers for the data_prep tests: run `firered-ocr prep ...` in-process, read a prepared folder."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest


def run_prep(*args: object) -> int:
    """`firered-ocr prep ARGS` through the real dispatcher, without a progress bar."""
    from firered_ocr.cli import main

    return main(["prep", *[str(a) for a in args], "--no-progress"])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def image_hashes(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((Path(root) / "images").glob("*.png"))}


@pytest.fixture(scope="session")
def prep():
    return run_prep


@pytest.fixture(scope="session")
def jsonl():
    return read_jsonl


@pytest.fixture(scope="session")
def hashes():
    return image_hashes


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory) -> Path:
    """A small default-profile dataset (8 pages, 2 workers), shared by the format and determinism tests."""
    out = tmp_path_factory.mktemp("synth") / "ds"
    assert run_prep("synth", "--n", 8, "--out", out, "--seed", 3, "--workers", 2, "--dpi", 72) == 0
    return out
