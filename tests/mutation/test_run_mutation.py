"""The mutation driver: reads its module table, refuses a module it has no tests for, writes each module's
mutmut section into a workspace copy (never into the checkout), and scores mutmut's verdicts."""
from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _driver():
    spec = importlib.util.spec_from_file_location("run_mutation", HERE / "run_mutation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_mutation"] = module
    spec.loader.exec_module(module)
    return module


def test_module_table_lists_the_training_core_with_existing_tests():
    drv = _driver()
    pytest_args, table = drv.load_settings()
    assert "-x" in pytest_args and "not slow" in pytest_args
    for module in ("firered_ocr/training/curriculum.py", "firered_ocr/training/reward_wiring.py",
                   "firered_ocr/training/grpo_trainer.py"):
        assert module in table
    for module, args in table.items():
        assert (drv.REPO / module).is_file(), module
        files = [a for a in args if a.startswith("tests/")]
        assert files and all((drv.REPO / f.split("::")[0]).is_file() for f in files), (module, files)


def test_unknown_module_is_an_error_naming_it():
    drv = _driver()
    with pytest.raises(drv.MutationConfigError, match="no_such.py"):
        drv.main(["firered_ocr/no_such.py"])


def test_workspace_gets_its_own_mutmut_section(tmp_path, monkeypatch):
    drv = _driver()
    monkeypatch.setattr(drv, "OUT", tmp_path)
    monkeypatch.setattr(drv, "_checkout_files", lambda: ["pyproject.toml", "firered_ocr/training/curriculum.py"])
    ws = drv.prepare_workspace("firered_ocr/training/curriculum.py", ["tests/x.py", "-k", "a"], ["-x"], fresh=True)
    assert ws == tmp_path / "firered_ocr__training__curriculum"
    section = tomllib.loads((ws / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert section["only_mutate"] == ["firered_ocr/training/curriculum.py"]
    assert section["pytest_add_cli_args_test_selection"] == ["tests/x.py", "-k", "a"]
    assert section["pytest_add_cli_args"] == ["-x"] and section["process_isolation"] == "forkserver"
    assert "mutmut" not in tomllib.loads((drv.REPO / "pyproject.toml").read_text())["tool"]  # checkout untouched
    assert (ws / "firered_ocr/training/curriculum.py").read_bytes() == \
        (drv.REPO / "firered_ocr/training/curriculum.py").read_bytes()


def test_score_counts_timeouts_as_killed_and_untested_mutants_as_survivors():
    drv = _driver()
    results = {"m.x_f__mutmut_1": drv.KILLED, "m.x_f__mutmut_2": drv.KILLED, "m.x_f__mutmut_3": drv.TIMEOUT,
               "m.x_f__mutmut_4": drv.SURVIVED, "m.x_g__mutmut_1": drv.NO_TESTS, "m.x_g__mutmut_2": drv.NOT_CHECKED}
    s = drv.summarise("m.py", results)
    assert (s["mutants"], s["killed"], s["timeout"], s["survived"], s["no tests"], s["not checked"]) == (6, 2, 1, 1, 1, 1)
    assert s["score"] == pytest.approx(3 / 5)
    assert s["survivors"] == ["m.x_f__mutmut_4", "m.x_g__mutmut_1"]
    assert drv.summarise("m.py", {})["score"] is None
