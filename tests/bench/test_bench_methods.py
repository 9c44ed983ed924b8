"""`firered-ocr bench methods`: its statistics, its silver labels, its task, its clock, its arms, and the
whole harness end to end on the smoke config (the numbers in the report must be the runs' own)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from firered_ocr.bench.config import load_arm
from firered_ocr.bench.silver import silver_label
from firered_ocr.bench.stats import estimate, paired_difference, within_noise
from firered_ocr.bench.tracking import BudgetAndCurve
from firered_ocr.config_io import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_interval_is_student_t_over_seeds():
    e = estimate([0.2, 0.4, 0.6])  # sd 0.2, t(0.975, 2) = 4.302653
    assert e.mean == pytest.approx(0.4, abs=1e-12) and e.n == 3
    assert e.half_width == pytest.approx(4.302652729911275 * 0.2 / math.sqrt(3), abs=1e-9)
    assert estimate([0.5]).half_width is None and estimate([None]) is None
    d = paired_difference([0.30, 0.50, None], [0.40, 0.70, 0.1])  # seed 3 has no arm value: left out
    assert d.mean == pytest.approx(-0.15) and d.n == 2
    assert d.half_width == pytest.approx(12.706204736174694 * (0.05 * math.sqrt(2)) / math.sqrt(2))
    assert within_noise(d)  # -0.15 ± 0.635
    assert not within_noise(paired_difference([0.1, 0.11, 0.12], [0.5, 0.5, 0.52]))
    assert within_noise(paired_difference([0.1], [0.5]))  # one seed: nothing is outside noise


def _synthetic_results(rates: dict[str, list[float]]) -> dict:
    def run(rate):
        final = {"hallucination_rate": rate, "teds": 0.5, "text_accuracy": None, "rate/ragged_table": rate}
        return {"final": final, "curve": [{"seconds": 20.0, **final}], "steps": 10, "rollouts": 80, "seconds": 40.0}
    return {"config": {"arm_seconds": 40, "sft_steps": 500, "eval_pages": 64, "rl_baseline": "grpo_onpolicy"},
            "quick": False, "total_seconds": 123.0, "labels": {"grpo_onpolicy": "GRPO on-policy"},
            "regimes": {"silver": {"sft": [{"hallucination_rate": 0.6}],
                                   "arms": {name: [run(r) for r in vals] for name, vals in rates.items()}}}}


def test_report_gives_each_rl_arm_its_paired_difference_from_the_control_and_from_plain_grpo(tmp_path):
    from firered_ocr.bench.report import markdown, rewrite_report, write_report

    results = _synthetic_results({"sft_continued": [0.8, 0.7, 0.9], "grpo_onpolicy": [0.5, 0.4, 0.6],
                                  "prosper": [0.4, 0.4, 0.4]})
    md = markdown(results)
    hw = 4.302652729911275 * 0.1 / math.sqrt(3)  # sd of both prosper differences is 0.1: 0.248
    # prosper − control = (−0.4, −0.3, −0.5): outside noise; prosper − GRPO = (−0.1, 0.0, −0.2): within noise
    assert f"| prosper | 0.400 ± 0.000 | 0.500 ± 0.000 | -0.400 ± {hw:.3f} | ≈ -0.100 ± {hw:.3f} | 10 ± 0 |" in md
    assert "| GRPO on-policy | 0.500 ± 0.248 | 0.500 ± 0.000 | -0.300 ± 0.000 |  | 10 ± 0 |" in md
    assert "| sft_continued | 0.800 ± 0.248 | 0.500 ± 0.000 |  |  |" in md
    assert "| arm | hallucination rate | TEDS | Δ vs control | Δ vs GRPO on-policy | steps |" in md
    assert "No arm has a value for: TEDS-S, formula validity, formula count, text accuracy (left out)." in md
    no_baseline = markdown({**results, "config": {**results["config"], "rl_baseline": ""}})
    assert "Δ vs GRPO" not in no_baseline and "| prosper | 0.400 ± 0.000 | 0.500 ± 0.000 | -0.400" in no_baseline
    # re-rendering from results.json keeps the recorded total and gives the same table
    write_report(results, tmp_path)
    (tmp_path / "results.md").unlink()
    rewrite_report(tmp_path)
    assert (tmp_path / "results.md").read_text() == md and "Total 123 s." in md
    with pytest.raises(ValueError, match="nowhere/results.json: no results.json"):
        rewrite_report(tmp_path / "nowhere")


def test_silver_labels_apply_each_extractor_error_exactly():
    three = "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr><tr><td>5</td><td>6</td></tr></table>"
    label, applied = silver_label(three + "\n\n$$\n\\frac{1}{a}\n$$")
    assert applied == ["ragged_row", "unbalanced_brace"]
    assert label == ("<table><tr><td>1</td><td>2</td><td></td></tr><tr><td>3</td><td>4</td></tr><tr><td>5</td>"
                     "<td>6</td></tr></table>\n\n$$\n\\frac{1}{a\n$$")
    four = "<table><tr><td colspan=\"2\">1</td></tr>" + "<tr><td>2</td><td>3</td></tr>" * 3 + "</table>"
    label, applied = silver_label(four + "\n\n$$\nx^{2}\n$$")
    assert applied == ["flattened_merge", "dropped_row"]
    assert label == "<table><tr><td>1</td></tr>" + "<tr><td>2</td><td>3</td></tr>" * 2 + "</table>\n\n$$\nx^{2}\n$$"
    two = "<table><tr><td>1</td></tr><tr><td>2</td></tr></table>"
    assert silver_label(two) == (two, [])


def test_task_pages_have_merged_cells_and_valid_formulas_and_defaults_are_unchanged():
    from data_prep.config import TinyTablesProfile
    from data_prep.synth.tiny_tables import TinyTablesMaker
    from rewards import check_latex, score_page

    plain = TinyTablesMaker(TinyTablesProfile()).make(3, 7, 1, 72).pages[0]
    assert "colspan" not in plain.markdown and "$$" not in plain.markdown
    assert plain.stats == {"tables": 1, "merged_cells": 0, "formulas": 0, "chars": len(plain.markdown)}
    profile = TinyTablesProfile(width_pt=160, height_pt=176, font_size_pt=20, rows=(2, 4), cols=(2, 3),
                                digits=(1, 2), merged_share=0.5, formula_share=0.6)
    maker = TinyTablesMaker(profile)
    pages = [maker.make(0, i, 1, 72).pages[0] for i in range(40)]
    merged = sum(p.stats["merged_cells"] for p in pages)
    formulas = [p.markdown.split("$$\n")[1].split("\n$$")[0] for p in pages if p.stats["formulas"]]
    assert 10 <= merged <= 30 and 14 <= len(formulas) <= 34
    assert all(check_latex(f).ok for f in formulas)
    assert all(score_page(p.markdown).total == 1.0 for p in pages)  # every label is structurally valid
    assert TinyTablesMaker(profile).make(0, 5, 1, 72).pages[0].markdown == pages[5].markdown  # deterministic


class _FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class _State:
    global_step = 0


class _Control:
    should_training_stop = should_save = False


def test_budget_excludes_evaluation_time_and_evaluates_on_schedule():
    clock = _FakeClock()

    def evaluate(model):
        clock.t += 100.0  # an evaluation far longer than the budget must not eat it
        return {"hallucination_rate": 0.5}

    cb = BudgetAndCurve(seconds=10.0, every=4.0, evaluate=evaluate, clock=clock)
    state, control = _State(), _Control()
    cb.on_train_begin(None, state, control)
    for step in range(1, 20):
        clock.t += 1.5
        state.global_step = step
        cb.on_step_end(None, state, control, model=None)
        if control.should_training_stop:
            break
    # training seconds 1.5, 3, 4.5 (eval), 6, 7.5, 9 (eval at >= 8), 10.5 (budget: stop and final eval)
    assert [p["seconds"] for p in cb.curve] == [4.5, 9.0, 10.5]
    assert [p["step"] for p in cb.curve] == [3, 6, 7] and cb.steps == 7 and control.should_save
    cb.on_train_end(None, state, control, model=None)
    assert len(cb.curve) == 3  # no duplicate final point


def test_arm_files_are_checked(tmp_path):
    assert load_arm("grpo_reuse", REPO / "configs" / "bench_arms").grpo == {"num_iterations": 4, "epsilon": 0.2}
    with pytest.raises(ConfigError, match="nope.yaml: arm file not found"):
        load_arm("nope", tmp_path)
    (tmp_path / "bad.yaml").write_text("name: bad\nkind: sft\ngrpo: {beta: 0.1}\n")
    with pytest.raises(ConfigError, match="bad.yaml: an sft arm takes no grpo"):
        load_arm("bad", tmp_path)
    (tmp_path / "typo.yaml").write_text("name: typo\ngrop: {}\n")
    with pytest.raises(ConfigError, match="grop"):
        load_arm("typo", tmp_path)


def test_every_shipped_arm_builds_a_valid_grpo_config(tmp_path):
    from firered_ocr.bench.arms import grpo_config
    from firered_ocr.bench.config import BenchMethodsConfig
    from firered_ocr.config_io import load_config

    cfg = load_config(BenchMethodsConfig, REPO / "configs" / "bench_methods_cpu.yaml", section="bench_methods")
    assert set(cfg.quick_arms) <= set(cfg.arms)
    for name in cfg.arms:
        arm = load_arm(name, cfg.arms_dir)
        if arm.kind == "grpo":
            grpo = grpo_config(cfg, arm, tmp_path / "sft", tmp_path / "data", tmp_path / name, seed=1)
            for key, value in arm.grpo.items():
                got = getattr(grpo, key)
                assert (got == value) if not isinstance(value, dict) else all(
                    getattr(got, k) == v if not isinstance(got, dict) else got[k] == v for k, v in value.items()), name
            assert grpo.num_generations == 8 and grpo.seed == 1 and grpo.max_seconds is None


@pytest.mark.slow
def test_harness_end_to_end_on_the_smoke_config(tmp_path):
    from firered_ocr.cli import main

    out = tmp_path / "bench"
    argv = ["bench", "methods", "--config", str(REPO / "configs" / "bench_methods_smoke.yaml"), "--out", str(out)]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    runs = results["regimes"]["silver"]
    assert list(runs["arms"]) == ["sft_continued", "grpo_reuse"] and len(runs["sft"]) == 1  # shared by both seeds
    assert (out / "silver" / "sft" / "heldout.json").is_file() and not (out / "silver" / "seed1" / "sft").exists()
    for name, arm_runs in runs["arms"].items():
        for seed, run in enumerate(arm_runs):
            on_disk = json.loads((out / "silver" / f"seed{seed}" / name / "result.json").read_text())
            assert run == on_disk and run["final"] == run["curve"][-1] and run["steps"] >= 1
            assert run["seconds"] >= 2.0 and 0.0 <= run["final"]["hallucination_rate"] <= 1.0
            assert not list((out / "silver" / f"seed{seed}" / name).glob("checkpoint-*"))
        rows = {r["arm"]: r for r in results["summary"]["silver"]}
        finals = [r["final"]["hallucination_rate"] for r in arm_runs]
        assert rows[name]["hallucination_rate"]["mean"] == pytest.approx(sum(finals) / 2)
    assert runs["arms"]["grpo_reuse"][0]["rollouts"] > 0 and runs["arms"]["sft_continued"][0]["rollouts"] == 0
    md = (out / "results.md").read_text()
    assert "| SFT continued (control) |" in md and "| GRPO reuse x4 |" in md and "## silver labels" in md
    assert (out / "curves_silver.png").stat().st_size > 5_000
    # a rerun reuses every finished arm and SFT checkpoint: same numbers
    assert main(argv) == 0
    assert json.loads((out / "results.json").read_text())["regimes"] == results["regimes"]
    # --report-only re-renders the same table from results.json without training
    md = (out / "results.md").read_text()
    (out / "results.md").unlink()
    assert main(argv + ["--report-only"]) == 0 and (out / "results.md").read_text() == md
    assert "| SFT continued (control) |" in md and "Δ vs control" in md  # the smoke config has no grpo_onpolicy arm
    assert main(["bench", "methods", "--config", str(REPO / "configs" / "bench_methods_smoke.yaml"),
                 "--set", "seeds=0"]) == 2
