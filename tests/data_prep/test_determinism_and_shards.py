"""Same seed, same bytes: across runs, worker counts and shard splits."""
from __future__ import annotations

import shutil


def test_same_seed_twice_with_other_workers_gives_identical_bytes(synth_dir, tmp_path, prep, jsonl, hashes):
    again = tmp_path / "again"
    assert prep("synth", "--n", 8, "--out", again, "--seed", 3, "--workers", 1, "--dpi", 72) == 0
    for name in ("train.jsonl", "validation.jsonl", "manifest.json", "README.md"):
        assert (again / name).read_bytes() == (synth_dir / name).read_bytes(), name
    assert hashes(again) == hashes(synth_dir)
    assert len(hashes(again)) == 8


def test_another_seed_gives_other_pages(synth_dir, tmp_path, prep, jsonl, hashes):
    other = tmp_path / "other"
    assert prep("synth", "--n", 2, "--out", other, "--seed", 4, "--workers", 1, "--dpi", 72) == 0
    gts = {r["markdown"] for r in jsonl(synth_dir / "train.jsonl") + jsonl(synth_dir / "validation.jsonl")}
    assert not gts & {r["markdown"] for r in jsonl(other / "train.jsonl") + jsonl(other / "validation.jsonl")}


def test_shards_in_one_folder_assemble_the_same_dataset(synth_dir, tmp_path, capsys, prep, jsonl, hashes):
    out = tmp_path / "sharded"
    assert prep("synth", "--n", 8, "--out", out, "--seed", 3, "--workers", 1, "--dpi", 72, "--shard", "1/2") == 0
    assert not (out / "train.jsonl").exists()  # shard 0 has not run yet
    assert "assembled when all 2 shards are done" in capsys.readouterr().err
    assert prep("synth", "--n", 8, "--out", out, "--seed", 3, "--workers", 2, "--dpi", 72, "--shard", "0/2") == 0
    assert (out / "train.jsonl").read_bytes() == (synth_dir / "train.jsonl").read_bytes()
    assert hashes(out) == hashes(synth_dir)


def test_shards_in_two_folders_merge_by_copying_and_rerunning(synth_dir, tmp_path, prep, jsonl, hashes):
    a, b, merged = tmp_path / "a", tmp_path / "b", tmp_path / "merged"
    for shard, out in (("0/2", a), ("1/2", b)):
        assert prep("synth", "--n", 8, "--out", out, "--seed", 3, "--dpi", 72, "--workers", 1, "--shard", shard) == 0
    shards_a, shards_b = set(hashes(a)), set(hashes(b))
    assert shards_a and shards_b and not shards_a & shards_b  # disjoint files
    shutil.copytree(a, merged)
    shutil.copytree(b, merged, dirs_exist_ok=True)
    written = {p.name: p.stat().st_mtime_ns for p in (merged / "images").iterdir()}
    assert prep("synth", "--n", 8, "--out", merged, "--seed", 3, "--dpi", 72, "--workers", 1) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (merged / "images").iterdir()} == written  # nothing redone
    assert (merged / "train.jsonl").read_bytes() == (synth_dir / "train.jsonl").read_bytes()


def test_augmentation_is_recorded_and_deterministic(tmp_path, prep, jsonl, hashes):
    runs = []
    for workers, name in ((1, "x"), (2, "y")):
        out = tmp_path / name
        assert prep("synth", "--profile", "tiny-tables", "--n", 12, "--out", out, "--seed", 9,
                    "--workers", workers, "--augment") == 0
        runs.append(out)
    assert hashes(runs[0]) == hashes(runs[1])
    plain = tmp_path / "plain"
    assert prep("synth", "--profile", "tiny-tables", "--n", 12, "--out", plain, "--seed", 9, "--workers", 1) == 0
    recs = jsonl(runs[0] / "train.jsonl") + jsonl(runs[0] / "validation.jsonl")
    for r in recs:
        assert set(r["augment"]) == {"rotate_deg", "blur_radius", "noise_sigma", "jpeg_quality"}
    assert sum(r["augment"]["rotate_deg"] != 0 for r in recs) >= 4
    assert sum(r["augment"]["jpeg_quality"] is not None for r in recs) >= 2
    changed = [k for k, v in hashes(runs[0]).items() if hashes(plain)[k] != v]
    assert len(changed) >= 10  # the pixels really changed (a page may draw no effect at all)
    assert [r["markdown"] for r in jsonl(plain / "train.jsonl")] == \
        [r["markdown"] for r in jsonl(runs[0] / "train.jsonl")]  # the ground truth did not
