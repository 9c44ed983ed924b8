"""The apted-based TEDS reference and table generators in benchmarks/reference/, loaded by path for the
TEDS tests (benchmarks/ is not a package the tests import; a path load works from any checkout copy,
mutation workspaces included)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "reference"


def load_reference(name: str):
    """benchmarks/reference/<name>.py as a module (registered once, so both test files share it)."""
    key = f"_teds_reference_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, REFERENCE_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module
