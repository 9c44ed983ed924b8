"""The docs cannot drift from the code silently: README.md and docs/*.md are checked against the tree.

- every relative link (and `#anchor`, with GitHub's heading slugs) resolves;
- every `firered-ocr …` command shown (in code blocks and inline code) names sub-commands and flags that
  the CLI's own argparse tree (`firered_ocr.cli.build_parser`) has;
- `firered-ocr sft|grpo --config R.yaml key=value` loads through the CLI's own config loader, and
  `firered-ocr demo|app --set KEY=VALUE` names a field of that command's config;
- every repository path shown in inline code (`rewards/tables/teds.py`, `configs/tiny_cpu.yaml`) exists;
- every code fence is closed (an unclosed one would hide the rest of the page from these checks).
A page linked before its author has written it fails with a message saying so.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import itertools
import re
import shlex
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# CommonMark: a fence is 3+ backticks or tildes (indented 0-3 spaces in a list item or not); a backtick
# fence's info string holds no backtick; it closes at a line of the same character, at least as long.
FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# Top-level folders and files whose paths, written in inline code, must exist.
PATH_ROOTS = ("rewards/", "data_prep/", "firered_ocr/", "app/", "benchmarks/", "configs/", "tests/", "docs/")
PATH = re.compile("^(?:" + "|".join(map(re.escape, PATH_ROOTS)) + r")[\w./-]*\.(?:py|yaml|yml|json|md|png|toml)$")


def scan(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]], list[str]]:
    """(prose lines, code-block lines, fence problems); lines as (1-based number, text)."""
    prose, code, problems, open_fence, opened_at = [], [], [], "", 0
    for n, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if m and not open_fence and not (m.group(1)[0] == "`" and "`" in m.group(2)):
            open_fence, opened_at = m.group(1), n
            continue
        if m and open_fence and m.group(1)[0] == open_fence[0] and len(m.group(1)) >= len(open_fence) \
                and not m.group(2).strip():
            open_fence = ""
            continue
        if m and open_fence and m.group(1) == open_fence and m.group(2).strip():
            # e.g. ```bash inside a ``` block: an opening fence was lost and this block runs on
            problems.append(f"line {n} opens a code block inside the one opened at line {opened_at}")
        (code if open_fence else prose).append((n, line))
    if open_fence:
        problems.append(f"the code fence opened at line {opened_at} is never closed")
    return prose, code, problems


def split_code(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(prose lines, code-block lines), each as (1-based line number, text)."""
    prose, code, _ = scan(text)
    return prose, code


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup and punctuation dropped, lower case, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").strip().lower()
    # GitHub keeps letters, marks, numbers, connector punctuation (_), spaces and hyphens
    text = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in "LMN"
                   or unicodedata.category(c) == "Pc")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    prose, _ = split_code(page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose:
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        s = slug(m.group(1))
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_code_fences_are_closed(page):
    # an unclosed fence turns the rest of the page into code, hiding its links and commands from the checks
    problems = scan(page.read_text(encoding="utf-8"))[2]
    assert not problems, f"{page.relative_to(REPO)}: " + "; ".join(problems)


def test_pages_exist():
    assert (REPO / "README.md").is_file() and len(PAGES) > 1, "README.md and docs/*.md are what this test checks"


def link_problems(page: Path) -> list[str]:
    problems = []
    prose, _ = split_code(page.read_text(encoding="utf-8"))
    for n, line in prose:
        for m in LINK.finditer(CODE_SPAN.sub("", line)):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            where = f"{page.relative_to(REPO)}:{n}"
            dest = (page.parent / path_part).resolve() if path_part else page
            if not dest.exists():
                shown = dest.relative_to(REPO) if dest.is_relative_to(REPO) else dest
                hint = " (not written yet? it must exist by the end)" if dest.parent == REPO / "docs" else ""
                problems.append(f"{where}: link to {target!r}: {shown} does not exist{hint}")
                continue
            if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{where}: link to {target!r}: no heading with the anchor #{anchor} in "
                                f"{dest.relative_to(REPO)}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page):
    problems = link_problems(page)
    assert not problems, "broken links:\n" + "\n".join(problems)


# ---- commands ----------------------------------------------------------------------------------------

def cli_tree() -> argparse.ArgumentParser:
    from firered_ocr.cli import build_parser

    return build_parser()


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}


# `firered-ocr` where it is the command run (line start, after `$ `, a path such as `.venv/bin/`, `&&`, `;`, a
# pipe or `$(`), not an argument (`--served-model-name firered-ocr`); or `-m firered_ocr[.cli]` under a launcher.
COMMAND = re.compile(r"(?:(?:^|&&|;|\||\$\()\s*(?:\$\s+)?(?:[\w.~-]*/)*firered-ocr|\s-m\s+firered_ocr(?:\.cli)?)"
                     r"(?:\s+(.*)|$)")


def commands_in(page: Path) -> list[tuple[int, str]]:
    """Every `firered-ocr …` (or `-m firered_ocr.cli …`) command line shown on the page."""
    prose, code = split_code(page.read_text(encoding="utf-8"))
    found = []
    # code blocks: join backslash continuations, drop comments
    joined, start = "", 0
    for n, line in code:
        if not joined:
            start = n
        joined += line.rstrip().rstrip("\\") + " "
        if line.rstrip().endswith("\\"):
            continue
        text = joined.split(" #")[0]
        joined = ""
        m = COMMAND.search(text)
        if m:
            found.append((start, (m.group(1) or "").strip()))
    for n, line in prose:
        for m in CODE_SPAN.finditer(line):
            m2 = COMMAND.search(m.group(2).strip())
            if m2:
                found.append((n, (m2.group(1) or "").strip()))
    return found


def command_problems(root: argparse.ArgumentParser, command: str) -> list[str]:
    command = re.split(r"\s(?:\||&&|;|>|2>)\s", command)[0]
    try:
        tokens = shlex.split(command)
    except ValueError:
        tokens = command.split()
    parser, path = root, ["firered-ocr"]
    problems = []
    for token in tokens:
        token = token.strip("[]()")
        if not token or token in {"…", "...", "|"} or "…" in token:
            continue
        subs = subparsers(parser)
        if token.startswith("-") and len(token) > 1 and not re.match(r"^-\d", token):
            flag = token.split("=", 1)[0]
            if flag not in option_strings(parser):
                problems.append(f"{' '.join(path)} has no option {flag}")
            continue
        if subs:
            if token.isupper() or token.startswith("<"):  # a placeholder (COMMAND)
                break
            if token not in subs:
                problems.append(f"{' '.join(path)} has no sub-command {token!r} (it has {', '.join(subs)})")
                break
            parser, path = subs[token], [*path, token]
    return problems


def test_commands_exist_in_the_cli():
    root = cli_tree()
    problems = []
    for page in PAGES:
        for n, command in commands_in(page):
            for p in command_problems(root, command):
                problems.append(f"{page.relative_to(REPO)}:{n}: `firered-ocr {command.strip()}`: {p}")
    assert not problems, "commands the CLI does not have:\n" + "\n".join(problems)


def stage_overrides(command: str) -> tuple[str, str | None, list[str]] | None:
    """(stage, --config file, key=value overrides) of an `sft` / `grpo` command, else None."""
    try:
        tokens = [t.strip("[]") for t in shlex.split(command)]
    except ValueError:
        tokens = [t.strip("[]") for t in command.split()]
    if not tokens or tokens[0] not in ("sft", "grpo"):
        return None
    config = tokens[tokens.index("--config") + 1] if "--config" in tokens[:-1] else None
    if config and re.fullmatch(r"[A-Z_]+", Path(config).stem):  # a placeholder: R.yaml, configs/X.yaml
        return None
    overrides = [t for t in tokens[1:] if "=" in t and not t.startswith("-") and "…" not in t and t != "key=value"]
    return tokens[0], config, overrides


def test_recipe_overrides_exist():
    """`firered-ocr sft|grpo --config R.yaml key=value` shown in the docs loads: the recipe exists and every
    overridden key is a field of the stage's config (the same loader the CLI uses)."""
    from firered_ocr.config_io import load_config
    from firered_ocr.training.grpo import GRPOStageConfig
    from firered_ocr.training.sft import SFTConfig

    classes = {"sft": SFTConfig, "grpo": GRPOStageConfig}
    problems, checked = [], 0
    for page in PAGES:
        for n, command in commands_in(page):
            parsed = stage_overrides(command)
            if parsed is None or (parsed[1] is None and not parsed[2]):
                continue
            stage, config, overrides = parsed
            try:
                load_config(classes[stage], REPO / config if config else None, overrides, section=stage)
                checked += 1
            except Exception as exc:  # noqa: BLE001 - the message is the report
                problems.append(f"{page.relative_to(REPO)}:{n}: `firered-ocr {command.strip()}`: {exc}")
    assert not problems, "recipe overrides that do not load:\n" + "\n".join(problems)
    assert checked > 0, "no sft/grpo command with a recipe was found in the docs"


SET_CONFIGS = {"demo": ("firered_ocr.demo", "DemoConfig"), "app": ("app.config", "AppConfig")}


def test_set_keys_exist():
    """`firered-ocr demo|app --set KEY=VALUE` shown in the docs names a field of that command's config."""
    problems = []
    for page in PAGES:
        for n, command in commands_in(page):
            tokens = command.split()
            if not tokens or tokens[0] not in SET_CONFIGS:
                continue
            module, name = SET_CONFIGS[tokens[0]]
            fields = {f.name for f in dataclasses.fields(getattr(importlib.import_module(module), name))}
            for flag, value in itertools.pairwise(tokens):
                key = value.strip("[]").split("=", 1)[0]
                if flag.strip("[") == "--set" and key.isidentifier() and key.islower() and key not in fields | {"key"}:
                    problems.append(f"{page.relative_to(REPO)}:{n}: `firered-ocr {command.strip()}`: "
                                    f"{name} has no field {key!r}")
    assert not problems, "--set keys the configs do not have:\n" + "\n".join(problems)


def test_rewards_page_shows_the_component_table():
    """docs/rewards.md holds `rewards.components.markdown_table()` verbatim, so weights and definitions in the
    docs are the ones the code uses (regenerate: paste `python -c "from rewards.components import
    markdown_table; print(markdown_table())"` over the table)."""
    from rewards.components import markdown_table

    page = (REPO / "docs" / "rewards.md").read_text(encoding="utf-8")
    assert markdown_table() in page, "docs/rewards.md's component table differs from rewards/components.py"


def test_table_cells_escape_their_pipes():
    """A `|` inside a code span still splits a GitHub table row: it must be written `\\|` there."""
    problems = []
    for page in PAGES:
        prose, _ = split_code(page.read_text(encoding="utf-8"))
        for n, line in prose:
            if not line.lstrip().startswith("|"):
                continue
            for m in CODE_SPAN.finditer(line):
                if re.search(r"(?<!\\)\|", m.group(2)):
                    problems.append(f"{page.relative_to(REPO)}:{n}: {m.group(0)} splits the table row")
    assert not problems, "unescaped | in table cells:\n" + "\n".join(problems)


def table_problems(text: str) -> list[str]:
    """A table's first row must be followed by its |---| separator, or GitHub shows the rows as text."""
    problems, previous = [], (0, "")
    for n, line in split_code(text)[0]:
        is_row = line.lstrip().startswith("|")
        starts_table = is_row and not (previous[0] == n - 1 and previous[1].lstrip().startswith("|"))
        if starts_table:
            following = text.split("\n")[n] if n < len(text.split("\n")) else ""
            if not re.match(r"\s*\|\s*:?-{3,}", following):
                problems.append(f"line {n}: a table without its |---| separator row")
        previous = (n, line)
    return problems


def test_tables_have_their_separator_row():
    problems = [f"{page.relative_to(REPO)}: {p}" for page in PAGES for p in table_problems(page.read_text(encoding="utf-8"))]
    assert not problems, "\n".join(problems)
    assert table_problems("text\n\n| a | b |\n| 1 | 2 |\n") == ["line 3: a table without its |---| separator row"]
    assert table_problems("| a | b |\n|---|---|\n| 1 | 2 |\n") == []


def test_rewards_page_defines_every_hallucination_category():
    from rewards import CATEGORIES

    page = (REPO / "docs" / "rewards.md").read_text(encoding="utf-8")
    missing = [c for c in CATEGORIES if f"**{c}**" not in page]
    assert not missing, f"docs/rewards.md defines no **category** for: {', '.join(missing)}"


def test_repository_paths_exist():
    problems = []
    for page in PAGES:
        prose, _ = split_code(page.read_text(encoding="utf-8"))
        for n, line in prose:
            for m in CODE_SPAN.finditer(line):
                span = m.group(2).strip()
                if PATH.match(span) and not (REPO / span).exists():
                    problems.append(f"{page.relative_to(REPO)}:{n}: `{span}` does not exist in the repository")
    assert not problems, "paths shown in the docs that are not in the tree:\n" + "\n".join(problems)


# ---- the checker checks itself -------------------------------------------------------------------------

def test_checker_catches_a_bad_flag_and_a_bad_sub_command():
    root = cli_tree()
    assert command_problems(root, "predict page.png --out preds/ [--dpi 200]") == []
    assert command_problems(root, "prep synth --profile tiny-tables --set rows=2,3 --n 10 --out d") == []
    assert command_problems(root, "predict page.png --no-such-flag 3") == [
        "firered-ocr predict has no option --no-such-flag"]
    assert command_problems(root, "prep synth --workerz 2") == ["firered-ocr prep synth has no option --workerz"]
    assert "has no sub-command 'serve'" in command_problems(root, "serve --port 1")[0]



def test_commands_are_found_where_firered_ocr_is_the_command(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("```bash\nfirered-ocr predict x --out y\n.venv/bin/firered-ocr score --pred p\n"
                    "vllm serve m --served-model-name firered-ocr --port 8000\n"
                    "accelerate launch --config_file c.yaml -m firered_ocr.cli sft --config r.yaml\n"
                    "make demo && firered-ocr app   # comment\n```\n"
                    "Run `firered-ocr demo --smoke`, not `--model firered-ocr`.\n", encoding="utf-8")
    assert commands_in(page) == [(2, "predict x --out y"), (3, "score --pred p"),
                                 (5, "sft --config r.yaml"), (6, "app"), (8, "demo --smoke")]


def test_checker_catches_a_bad_recipe_key():
    from firered_ocr.config_io import ConfigError, load_config
    from firered_ocr.training.sft import SFTConfig

    stage, config, overrides = stage_overrides("sft --config configs/tiny_cpu.yaml optim.max_stepz=3 data.path=d")
    assert (stage, config, overrides) == ("sft", "configs/tiny_cpu.yaml", ["optim.max_stepz=3", "data.path=d"])
    with pytest.raises(ConfigError, match="max_stepz"):
        load_config(SFTConfig, REPO / config, overrides, section=stage)


def test_checker_catches_a_broken_link_and_anchor(tmp_path, monkeypatch):
    monkeypatch.setitem(globals(), "REPO", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## The `score` command: --pred\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text("[ok](docs/a.md#the-score-command---pred) [gone](docs/b.md) [bad](docs/a.md#nope)\n"
                    "`[not a link](docs/c.md)`\n```\n[in code](docs/d.md)\n```\n", encoding="utf-8")
    problems = link_problems(page)
    assert len(problems) == 2, problems
    assert "docs/b.md does not exist" in problems[0]
    assert "no heading with the anchor #nope in docs/a.md" in problems[1]


def test_fences_follow_commonmark():
    text = "a ```` ```md ```` b\n````markdown\n```\ninner\n```\n````\n`firered-ocr x`\n  ```bash\ncode\n  ```\n"
    prose, code, problems = scan(text)
    assert problems == []
    assert [n for n, _ in code] == [3, 4, 5, 9]
    assert [n for n, _ in prose] == [1, 7, 11]
    assert scan("```bash\nx\n")[2] == ["the code fence opened at line 1 is never closed"]
    assert scan("x\n```\n```bash\ny\n```\n")[2] == ["line 3 opens a code block inside the one opened at line 2"]


def test_slugs_follow_github():
    assert slug("The scorer (`firered-ocr score --pred P [--gt G] --out DIR`)") == \
        "the-scorer-firered-ocr-score---pred-p---gt-g---out-dir"
    assert slug("A user's PDFs: silver labels") == "a-users-pdfs-silver-labels"
