"""Mutation testing, one module at a time, each against only the tests that cover it (`make mutation`).

    python tests/mutation/run_mutation.py [MODULE ...] [--max-minutes N] [--only GLOB] [--fresh]

MODULE is a path such as `firered_ocr/training/curriculum.py`; with none, every module listed under
`[tool.firered-mutation.modules]` in pyproject.toml runs. That table maps each module to the pytest arguments
(test files, `-k` filters) that cover it; `[tool.firered-mutation] pytest_args` are added to every run.

mutmut (3.x) does the work. It mutates a copy of the sources under `mutants/` of the directory it runs in,
and reads its settings from that directory's pyproject.toml. So each module gets its own workspace,
`runs/mutation/<module>/`: a copy of the checkout (git's tracked and untracked-but-not-ignored files) whose
pyproject.toml gains a `[tool.mutmut]` section for that module alone. The shared working tree is never
mutated, and a workspace keeps mutmut's results, so a run stopped by `--max-minutes` continues where it
stopped next time (`--fresh` starts over). `--only` (repeatable) restricts the run to mutants matching a glob
(mutmut names them `<module>.x_<function>__mutmut_<n>`, methods `<module>.xǁ<Class>ǁ<method>__mutmut_<n>`).

Prints, per module: mutants, killed, survived, timeouts, no covering test, not yet run, and the score
killed / (killed + survived + no covering test), where a timeout counts as killed; the survivors are listed
(`mutmut show NAME` in the workspace prints one's diff). Writes the same as JSON to runs/mutation/summary.json.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "runs" / "mutation"
SOURCE_PACKAGES = ["firered_ocr", "rewards", "data_prep", "app"]  # copied whole into mutants/; one is mutated
KILLED, SURVIVED, TIMEOUT, NO_TESTS, NOT_CHECKED = "killed", "survived", "timeout", "no tests", "not checked"


class MutationConfigError(ValueError):
    """A module that pyproject.toml's [tool.firered-mutation.modules] does not list."""


def load_settings(pyproject: Path = REPO / "pyproject.toml") -> tuple[list[str], dict[str, list[str]]]:
    table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("firered-mutation", {})
    return list(table.get("pytest_args", [])), {k: list(v) for k, v in table.get("modules", {}).items()}


def _checkout_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
    return [f for f in listed.split("\0") if f and (REPO / f).is_file()]


def prepare_workspace(module: str, tests: list[str], pytest_args: list[str], fresh: bool) -> Path:
    ws = OUT / module.replace("/", "__").removesuffix(".py")
    if fresh and ws.exists():
        shutil.rmtree(ws)
    ws.mkdir(parents=True, exist_ok=True)
    for rel in _checkout_files():  # refresh the copy; mutmut's own cache notices changed sources
        dest = ws / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest)
    mutmut = {
        "source_paths": [p for p in SOURCE_PACKAGES if (ws / p).is_dir()],
        "only_mutate": [module],
        # mutmut copies only the sources and tests/ into mutants/; tests also read these
        "also_copy": [p for p in ("benchmarks", "configs") if (ws / p).is_dir()],
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": pytest_args,
        # torch is not fork-safe once a test has run in the parent: fork workers from a clean server instead
        "process_isolation": "forkserver",
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]"] + [f"{k} = {json.dumps(v)}" for k, v in mutmut.items()]
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    (ws / "pyproject.toml").write_text(text.rstrip("\n") + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return ws


def run_mutmut(ws: Path, only: list[str] | None, max_minutes: float | None) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    cmd = [str(Path(sys.executable).with_name("mutmut")), "run", *(only or [])]
    proc = subprocess.Popen(cmd, cwd=ws, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = None if max_minutes is None else time.monotonic() + 60 * max_minutes
    while proc.poll() is None:
        if deadline is not None and time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGINT)  # mutmut saves what it has finished and stops
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(2)
    return proc.wait()


_STATUS = {"killed": KILLED, "survived": SURVIVED, "timeout": TIMEOUT, "no tests": NO_TESTS,
           "not checked": NOT_CHECKED, "segfault": KILLED, "suspicious": SURVIVED}


def read_results(ws: Path) -> dict[str, str]:
    out = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "results", "--all", "true"], cwd=ws,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""}).stdout
    results = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
        if m:
            results[m.group(1)] = _STATUS.get(m.group(2).strip(), m.group(2).strip())
    return results


def summarise(module: str, results: dict[str, str]) -> dict:
    counts = {k: sum(v == k for v in results.values()) for k in (KILLED, SURVIVED, TIMEOUT, NO_TESTS, NOT_CHECKED)}
    judged = counts[KILLED] + counts[TIMEOUT] + counts[SURVIVED] + counts[NO_TESTS]
    score = (counts[KILLED] + counts[TIMEOUT]) / judged if judged else None
    survivors = sorted(k for k, v in results.items() if v in (SURVIVED, NO_TESTS))
    return {"module": module, "mutants": len(results), **counts, "score": score, "survivors": survivors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop each module's run after this long")
    parser.add_argument("--only", action="append", default=None,
                        help="only mutants whose name matches this glob (repeatable)")
    parser.add_argument("--fresh", action="store_true", help="discard earlier results of these modules")
    args = parser.parse_args(argv)
    pytest_args, table = load_settings()
    modules = args.modules or list(table)
    unknown = [m for m in modules if m not in table]
    if unknown:
        raise MutationConfigError(f"pyproject.toml [tool.firered-mutation.modules] has no tests for "
                                  f"{', '.join(unknown)}; add the module with the test files that cover it")
    summaries = []
    for module in modules:
        ws = prepare_workspace(module, table[module], pytest_args, args.fresh)
        started = time.monotonic()
        rc = run_mutmut(ws, args.only, args.max_minutes)
        s = summarise(module, read_results(ws))
        s.update(minutes=round((time.monotonic() - started) / 60, 1), mutmut_exit=rc, only=args.only)
        summaries.append(s)
        score = "n/a" if s["score"] is None else f"{100 * s['score']:.1f} %"
        print(f"{module}: {s['mutants']} mutants, {s[KILLED]} killed, {s[TIMEOUT]} timeouts, {s[SURVIVED]} survived, "
              f"{s[NO_TESTS]} without a covering test, {s[NOT_CHECKED]} not run; score {score} "
              f"({s['minutes']} min)")
        for name in s["survivors"]:
            print(f"    survived: {name}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(summaries, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
