"""The CPU demo's orchestration end to end at a tiny size (`firered-ocr demo --smoke`): every stage runs,
the control gets GRPO's wall time, and the three-way results are written as JSON, Markdown and PNG."""
from __future__ import annotations

import json

import pytest

from firered_ocr.demo import SMOKE, DemoConfig, run_demo


@pytest.mark.slow
def test_demo_smoke_end_to_end(tmp_path):
    from firered_ocr.cli import main

    out = tmp_path / "demo"
    lines: list[str] = []
    cfg = DemoConfig(out=str(out), **SMOKE)
    payload = run_demo(cfg, log=lines.append)
    results = payload["results"]
    assert list(results) == ["sft", "grpo", "control"]
    for key, res in results.items():
        s = res["summary"]
        assert s["pages"] == 4 and 0.0 <= s["hallucination_rate"] <= 1.0, key
        assert {"total", "teds", "exact_match", "rate/unclosed_table", "rate/missing_rows"} <= set(s)
        assert (out / f"predictions_{key}.jsonl").read_text().count("\n") == 4
    assert results["grpo"]["extra_steps"] == SMOKE["grpo_max_steps"]
    # the control trained for at least GRPO's wall time, stopping at the first step past it
    assert results["control"]["extra_seconds"] >= results["grpo"]["extra_seconds"] > 0
    assert results["control"]["extra_steps"] >= 1
    written = json.loads((out / "demo_results.json").read_text())
    assert written["results"]["grpo"]["summary"] == results["grpo"]["summary"]
    md = (out / "demo_results.md").read_text()
    assert "| structural hallucination rate (pages with any finding) |" in md and "(b) SFT + GRPO" in md
    assert (out / "demo_results.png").stat().st_size > 10_000
    assert (out / "sft" / "curves.png").is_file() and (out / "grpo" / "final" / "model.safetensors").is_file()
    assert any("(c) SFT continued" in line for line in lines)
    # the demo ends by saying what to open next, and the app then shows the model the demo trained
    final = out / "grpo" / "final"
    assert lines[-3:-1] == [f"  results table: {out / 'demo_results.md'}", f"  plot:          {out / 'demo_results.png'}"]
    assert lines[-1].startswith(f"  try the trained model in the browser: .venv/bin/firered-ocr app --model {final}")
    from app.config import AppConfig

    app_cfg = AppConfig(demo_dir=str(out))
    assert "trained (SFT + GRPO)" in app_cfg.resolve_model() and app_cfg.model == str(final)
    untrained = AppConfig(demo_dir=str(tmp_path / "none"))
    assert "random-weight tiny checkpoint" in untrained.resolve_model() and untrained.model is None
    chosen = AppConfig(model="some/dir", demo_dir=str(out))
    assert chosen.resolve_model() == "app: showing some/dir" and chosen.model == "some/dir"
    # bad overrides are a one-line error, not a trace
    assert main(["demo", "--out", str(out), "--set", "sft_stepz=3"]) == 2
