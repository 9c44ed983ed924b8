"""The trainer's checkpoint, RNG, sampler and rollout-log hooks, each on a bare trainer (no model): what a
checkpoint holds besides TRL's files, when the RNG and the curriculum come back on resume, and which lines the
rollout log keeps. The end-to-end checks are the SIGKILL resume tests (slow); these pin each hook's contract
so that a mutation run, which skips the slow tests, still sees it. The last test wires them in a real one-step
run on the tiny model."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

pytest.importorskip("trl")

from trl import GRPOTrainer  # noqa: E402

from firered_ocr.training.curriculum import CurriculumConfig, CurriculumSampler, LearnabilityStats  # noqa: E402
from firered_ocr.training.grpo_trainer import CURRICULUM_STATE, ROW_INDEX  # noqa: E402
from grpo_support import bare_trainer  # noqa: E402


def _sampler(seed: int = 0) -> CurriculumSampler:
    stats = LearnabilityStats(4, CurriculumConfig(enabled=True))
    stats.observe(2, 0.3)
    return CurriculumSampler(stats, mini_repeat_count=2, batch_size=1, seed=seed)


# ------------------------------------------------------------------ rollout log
def _rollout_trainer(log, step=0, main=True):
    return bare_trainer(rollout_log=log, _rollout_log_checked=False, num_generations=2,
                 accelerator=SimpleNamespace(is_main_process=main, process_index=0),
                 state=SimpleNamespace(global_step=step))


def test_rollout_log_keeps_earlier_steps_drops_what_a_restart_redoes_and_names_each_page_once(tmp_path):
    log = tmp_path / "new" / "dir" / "rollouts.jsonl"  # its folder does not exist yet
    trainer = _rollout_trainer(log, step=0)
    # one group per page (G=2): an id, a row index when there is no id, nothing at all
    inputs = [{"id": "p7", ROW_INDEX: 5}, {"id": "p7", ROW_INDEX: 5}, {ROW_INDEX: 3}, {ROW_INDEX: 3}, {}, {}]
    trainer._record_rollout(inputs)
    trainer._record_rollout(inputs[:2])  # two rollouts in one optimizer step (steps_per_generation < accumulation)
    assert [json.loads(line) for line in log.read_text().splitlines()] == [
        {"step": 0, "ids": ["p7", "3", ""]}, {"step": 0, "ids": ["p7"]}]

    # A run restarted from checkpoint-2: lines of steps >= 2 (redone now) and lines cut by the kill are dropped.
    log.write_text('{"step": 0, "ids": ["a"]}\n{"step": 1, "ids": ["b"]}\n{"step": 2, "ids": ["c"]}\n'
                   '{"step": 3, "ids": ["d"]}\n{"ids": ["no step"]}\n{"step": "x"}\n[1]\n{"step": 3, "id')
    restarted = _rollout_trainer(log, step=2)
    restarted._record_rollout([{"id": "c2"}, {"id": "c2"}])
    restarted.state.global_step = 3
    restarted._record_rollout([{"id": "d2"}, {"id": "d2"}])
    assert log.read_text() == ('{"step": 0, "ids": ["a"]}\n{"step": 1, "ids": ["b"]}\n'
                               '{"step": 2, "ids": ["c2"]}\n{"step": 3, "ids": ["d2"]}\n')


def test_rollout_log_is_written_by_the_main_process_only_and_not_at_all_without_a_path(tmp_path):
    log = tmp_path / "rollouts.jsonl"
    _rollout_trainer(log, main=False)._record_rollout([{"id": "a"}, {"id": "a"}])
    assert not log.exists()
    _rollout_trainer(None)._record_rollout([{"id": "a"}, {"id": "a"}])
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ checkpoints
def test_checkpoint_holds_the_curriculum_state_before_the_trainers_own_files(tmp_path, monkeypatch):
    seen = []

    def trainer_save(self, model, trial):  # TRL/transformers' own save: the curriculum file must already exist
        state_file = tmp_path / "trial-7" / "checkpoint-3" / CURRICULUM_STATE
        seen.append((model, trial, json.loads(state_file.read_text()) if state_file.exists() else None))

    monkeypatch.setattr(GRPOTrainer, "_save_checkpoint", trainer_save)
    sampler = _sampler()
    list(iter(sampler))
    trainer = bare_trainer(curriculum_sampler=sampler, args=SimpleNamespace(should_save=True),
                    state=SimpleNamespace(global_step=3),
                    _get_output_dir=lambda trial: str(tmp_path / ("trial-7" if trial == "t7" else "run")))
    (tmp_path / "trial-7" / "checkpoint-3").mkdir(parents=True)  # left by a killed run: written again
    trainer._save_checkpoint("the-model", "t7")
    assert seen == [("the-model", "t7", json.loads(json.dumps(sampler.state_dict())))]
    assert seen[0][2]["stats"]["history"]

    # Another rank (should_save False) or a run without the curriculum writes no curriculum file.
    for sampler_, should_save in ((sampler, False), (None, True)):
        out = tmp_path / f"other-{should_save}"
        bare_trainer(curriculum_sampler=sampler_, args=SimpleNamespace(should_save=should_save),
              state=SimpleNamespace(global_step=1), _get_output_dir=lambda trial, out=out: str(out))._save_checkpoint(
            "m", None)
        assert not out.exists()
    assert len(seen) == 3


def test_loading_a_checkpoint_restores_the_curriculum_now_or_when_its_sampler_is_built(tmp_path, monkeypatch):
    loaded = []
    monkeypatch.setattr(GRPOTrainer, "_load_optimizer_and_scheduler", lambda self, ckpt: loaded.append(ckpt))
    saved = _sampler()
    list(iter(saved))
    state = json.loads(json.dumps(saved.state_dict()))
    ckpt = tmp_path / "checkpoint-2"
    ckpt.mkdir()
    (ckpt / CURRICULUM_STATE).write_text(json.dumps(state))
    stats = LearnabilityStats(4, CurriculumConfig(enabled=True))

    fresh = LearnabilityStats(4, CurriculumConfig(enabled=True))
    live = CurriculumSampler(fresh, mini_repeat_count=2, batch_size=1, seed=9)  # built before the load
    trainer = bare_trainer(learnability=fresh, curriculum_sampler=live, _pending_curriculum_state=None)
    trainer._load_optimizer_and_scheduler(str(ckpt))
    assert json.loads(json.dumps(live.state_dict())) == state and trainer._pending_curriculum_state is None

    later = bare_trainer(learnability=stats, curriculum_sampler=None, _pending_curriculum_state=None)
    later._load_optimizer_and_scheduler(str(ckpt))  # no sampler yet: kept until _get_train_sampler
    assert later._pending_curriculum_state == state

    for trainer, checkpoint in ((bare_trainer(learnability=None, curriculum_sampler=None, _pending_curriculum_state=None),
                                 str(ckpt)),  # no curriculum in this run: the file is ignored
                                (bare_trainer(learnability=stats, curriculum_sampler=None, _pending_curriculum_state=None),
                                 None),  # a fresh start
                                (bare_trainer(learnability=stats, curriculum_sampler=None, _pending_curriculum_state=None),
                                 str(tmp_path))):  # a checkpoint written before the curriculum existed
        trainer._load_optimizer_and_scheduler(checkpoint)
        assert trainer._pending_curriculum_state is None
    assert loaded == [str(ckpt), str(ckpt), str(ckpt), None, str(tmp_path)]


def test_with_the_curriculum_the_rng_is_restored_just_before_the_first_step_after_loading(monkeypatch):
    events = []
    monkeypatch.setattr(GRPOTrainer, "_load_rng_state", lambda self, ckpt: events.append(("rng", ckpt)))
    monkeypatch.setattr(GRPOTrainer, "training_step",
                        lambda self, model, inputs, n: events.append(("step", model, inputs, n)) or 0.5)
    stats = LearnabilityStats(2, CurriculumConfig(enabled=True))
    trainer = bare_trainer(learnability=stats, _deferred_rng_checkpoint=None)
    trainer._load_rng_state("ckpt-2")
    assert events == []  # deferred: the dataloader's iterator is created first
    assert trainer.training_step("m", {"x": 1}, 12) == 0.5
    assert trainer.training_step("m", {"x": 2}, 13) == 0.5
    assert events == [("rng", "ckpt-2"), ("step", "m", {"x": 1}, 12), ("step", "m", {"x": 2}, 13)]

    events.clear()
    trainer._load_rng_state(None)  # nothing to restore: the Trainer's own handling (a no-op) at once
    assert events == [("rng", None)]
    plain = bare_trainer(learnability=None, _deferred_rng_checkpoint=None)
    plain._load_rng_state("ckpt-4")  # without the curriculum nothing is deferred
    assert events == [("rng", None), ("rng", "ckpt-4")]
    plain.training_step("m", {}, 1)
    assert events == [("rng", None), ("rng", "ckpt-4"), ("step", "m", {}, 1)]


# ------------------------------------------------------------------ sampler
def test_curriculum_sampler_has_trls_layout_and_starts_from_a_loaded_state(monkeypatch):
    monkeypatch.setattr(GRPOTrainer, "_get_train_sampler", lambda self, dataset=None: ("trl", dataset))
    assert bare_trainer(learnability=None)._get_train_sampler("ds") == ("trl", "ds")

    stats = LearnabilityStats(6, CurriculumConfig(enabled=True))
    args = SimpleNamespace(generation_batch_size=8, steps_per_generation=3, seed=11)
    trainer = bare_trainer(learnability=stats, num_generations=4, num_iterations=2, args=args, curriculum_sampler=None,
                    _pending_curriculum_state=None)
    sampler = trainer._get_train_sampler()
    assert trainer.curriculum_sampler is sampler
    drawn = list(iter(sampler))
    expected = list(iter(CurriculumSampler(LearnabilityStats(6, CurriculumConfig(enabled=True)),
                                           mini_repeat_count=4, batch_size=2, repeat_count=6, seed=11)))
    assert drawn == expected
    block = drawn[:48]  # 2 pages x G=4, repeated num_iterations x steps_per_generation = 6 times
    a, b = block[0], block[4]
    assert a != b and block == ([a] * 4 + [b] * 4) * 6

    ahead = _sampler()
    it = iter(ahead)
    pending_block = [next(it), next(it)]  # drawn by the dataloader, not trained on before the checkpoint
    trainer = bare_trainer(learnability=LearnabilityStats(4, CurriculumConfig(enabled=True)), num_generations=2,
                    num_iterations=1, args=SimpleNamespace(generation_batch_size=2, steps_per_generation=1, seed=0),
                    curriculum_sampler=None, _pending_curriculum_state=json.loads(json.dumps(ahead.state_dict())))
    assert list(iter(trainer._get_train_sampler()))[:2] == pending_block
    assert {k: list(v) for k, v in trainer.learnability.history.items()} == {2: [0.3]}  # the saved variances
    assert trainer._pending_curriculum_state is None
    trainer._get_train_sampler()  # a new epoch builds the sampler again, without reloading the state


# ------------------------------------------------------------------ wired by build_trainer
@pytest.mark.parametrize("curriculum", [False, True])
def test_a_built_trainer_logs_rollouts_and_samples_and_checkpoints_the_curriculum_only_when_on(
        tiny_model_dir, tiny_dataset_dir, tmp_path, curriculum):
    from grpo_support import FAKE_REGISTRY, small_cfg

    from firered_ocr.training.grpo import build_trainer
    from firered_ocr.training.metrics_log import read_jsonl

    out = tmp_path / "out"
    out.mkdir()
    (out / "rollouts.jsonl").write_text('{"step": 5, "ids": ["stale"]}\n')  # an earlier run's, in the same folder
    cfg = small_cfg(tiny_model_dir, tiny_dataset_dir, out, max_steps=1, save_steps=1, samples_per_log=2,
                    curriculum=CurriculumConfig(enabled=curriculum), write_plots=False)
    trainer, _ = build_trainer(cfg, reward_registry=FAKE_REGISTRY)
    assert (ROW_INDEX in trainer.train_dataset.column_names) == curriculum  # added only for the curriculum
    trainer.train()
    rollouts = read_jsonl(out / "rollouts.jsonl")
    assert [r["step"] for r in rollouts] == [0] and len(rollouts[0]["ids"]) == 2  # 8 rows = 2 pages x G=4
    assert [s["id"] for s in read_jsonl(out / "samples.jsonl")] == ["step1-0", "step1-1"]
    assert (out / "checkpoint-1" / "trainer_state.json").is_file()
    assert (out / "checkpoint-1" / CURRICULUM_STATE).is_file() == curriculum
