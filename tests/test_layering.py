"""The architecture, enforced: `app → firered_ocr → {rewards, data_prep}`, `rewards/` and `data_prep/` free of
torch, the two data pipelines independent of each other, `rewards/tables/` self-contained, and nothing under
`benchmarks/` importing from `tests/`. Read from the source (every import statement, including the ones
inside functions), then checked at run time for torch."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TORCH_SIDE = {"torch", "torchvision", "transformers", "trl", "peft", "accelerate", "deepspeed", "vllm", "gradio"}


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported by one file (relative imports resolved against its package)."""
    package = path.relative_to(REPO).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def imports_of(folder: str) -> dict[str, set[str]]:
    return {str(p.relative_to(REPO)): imported_modules(p) for p in sorted((REPO / folder).rglob("*.py"))}


def offenders(folder: str, forbidden: set[str]) -> list[str]:
    bad = []
    for file, modules in imports_of(folder).items():
        hits = sorted(m for m in modules if m.split(".")[0] in forbidden or any(m.startswith(f + ".") or m == f
                                                                                 for f in forbidden if "." in f))
        if hits:
            bad.append(f"{file}: {', '.join(hits)}")
    return bad


def test_the_import_reader_sees_relative_and_function_level_imports(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    planted = tmp_path / "rewards" / "page" / "planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("from .blocks import x\nfrom .. import tables\ndef f():\n    import torch.nn\n")
    found = imported_modules(planted)
    assert {"rewards.page.blocks", "rewards.tables", "torch.nn"} <= found
    assert offenders("rewards", TORCH_SIDE) == ["rewards/page/planted.py: torch.nn"]


@pytest.mark.parametrize("folder", ["rewards", "data_prep"])
def test_pure_python_parts_import_no_torch_side_and_nothing_above_them(folder):
    assert offenders(folder, TORCH_SIDE | {"firered_ocr", "app"}) == []


def test_rewards_does_not_import_data_prep():
    assert offenders("rewards", {"data_prep"}) == []


def test_firered_ocr_does_not_import_the_app():
    assert offenders("firered_ocr", {"app"}) == []


def test_the_two_data_pipelines_never_import_each_other():
    assert offenders("data_prep/synth", {"data_prep.pdfs"}) == []
    assert offenders("data_prep/pdfs", {"data_prep.synth"}) == []


def test_tables_import_nothing_else_from_rewards():
    bad = [f"{file}: {m}" for file, mods in imports_of("rewards/tables").items() for m in sorted(mods)
           if m.startswith("rewards.") and not m.startswith("rewards.tables")]
    assert bad == []


def test_benchmarks_do_not_import_tests():
    assert offenders("benchmarks", {"tests"}) == []
    for script in (REPO / "benchmarks").rglob("*.py"):
        assert "tests/" not in script.read_text().replace("tests/ ", ""), f"{script} reaches into tests/"


def test_importing_rewards_and_data_prep_loads_no_torch():
    code = ("import sys, rewards, rewards.scorer.cli, data_prep.cli, data_prep.synth.pipeline, "
            "data_prep.pdfs.pipeline; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{sorted(TORCH_SIDE)!r}); print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
