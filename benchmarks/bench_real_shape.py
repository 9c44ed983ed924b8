"""The 2B LoRA recipe at the real Qwen3-VL-2B shape on this CPU: one SFT step, one GRPO step, one `predict`.

Run: `.venv/bin/python benchmarks/bench_real_shape.py` (one command, ~30 min and ~13 GB of RAM on a
2-core machine; not part of `make test`). It
1. builds (once, cached under --workdir) a random-weight checkpoint with Qwen3-VL-2B-Instruct's published
   architecture (`firered-ocr make-tiny-model --shape qwen3-vl-2b`),
2. renders real synthetic pages (`firered-ocr prep synth`),
3. runs the `sft:` section of configs/qwen3vl_2b_lora.yaml for one step, its `grpo:` section for one step
   (G = 2, a few new tokens) and `predict` on one page -- each in its own process, so each peak resident
   memory is its own -- substituting only what a CPU forces; every substitution is printed,
4. prints seconds per step, peak resident memory, vision tokens per page at the recipe's 1288-px setting
   and the trainable parameters per module group, and writes them to --workdir/real_shape_results.json.

`--shape qwen3-vl-2b-narrow` runs the same code path on the 2B structure with tiny widths in a few
minutes: use it to check the plumbing before spending the real run.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "configs" / "qwen3vl_2b_lora.yaml"
RECIPE_PAGE_SIDE = 1288  # the recipe's data.image_max_side


def substitutions(args) -> dict[str, dict[str, str]]:
    """What a 2-core CPU cannot run as the recipe says, per stage: key -> (value, why)."""
    common = {
        "bf16": ("false", "no bf16-capable GPU; fp32 on CPU"),
        "data.image_max_side": (str(args.page_side), f"pages at {args.page_side} px instead of 1288 px"),
        "report_to": ("[]", "no tensorboard for a one-step run"),
        "cpu_threads": (str(args.threads), "the machine's cores"),
    }
    sft = {**{("optim." + k if k == "bf16" else k): v for k, v in common.items()},
           "optim.max_steps": ("1", "one step"),
           "optim.per_device_batch_size": ("1", "recipe: 4 pages per device"),
           "optim.gradient_accumulation_steps": ("1", "recipe: 8"),
           "max_length": (str(args.max_length), "recipe: 8192 tokens per page"),
           "validation.n_pages": ("0", "no validation generation in a one-step run"),
           "dataloader_num_workers": ("0", "recipe: 4 workers"),
           "save_steps": ("1000", "no intermediate checkpoint"),
           "resume": ("never", "a fresh run each time")}
    grpo = {**common,
            "num_generations": ("2", "recipe: G = 8"),
            "per_device_train_batch_size": ("2", "recipe: 8 completions per device"),
            "gradient_accumulation_steps": ("1", "recipe: 8"),
            "max_completion_length": (str(args.new_tokens), "recipe: 3000 new tokens"),
            "max_steps": ("1", "one step"),
            "save_steps": ("1000", "no intermediate checkpoint"),
            "write_plots": ("false", "no plots for one step"),
            "samples_per_log": ("0", "no sample log"),
            "disable_tqdm": ("true", "no progress bar"),
            "resume": ("never", "a fresh run each time")}
    return {"sft": sft, "grpo": grpo}


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # Linux: KiB


class StepTimer:
    """A TrainerCallback (built lazily: transformers is imported only in the children) timing each step."""

    def __new__(cls):
        from transformers import TrainerCallback

        class _Timer(TrainerCallback):
            def __init__(self):
                self.seconds: list[float] = []
                self.groups: dict = {}
                self._t0 = 0.0

            def on_train_begin(self, args, state, control, model=None, **kwargs):
                if model is not None:
                    from firered_ocr.training.memory_estimate import trainable_groups

                    self.groups = trainable_groups(model)

            def on_step_begin(self, args, state, control, **kwargs):
                self._t0 = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                self.seconds.append(round(time.perf_counter() - self._t0, 1))

        return _Timer()


def child(stage: str, args) -> dict:
    """One stage in this process; returns its measurements."""
    subs = substitutions(args)
    t0 = time.perf_counter()
    if stage == "build":
        from firered_ocr.model_shapes import shape_config
        from firered_ocr.tiny_model import build_tiny_model

        import dataclasses

        cfg = dataclasses.replace(shape_config(args.shape), tokenizer_file=args.tokenizer)
        build_tiny_model(args.checkpoint, seed=0, cfg=cfg)
        return {"seconds": round(time.perf_counter() - t0, 1), "peak_rss_gb": round(peak_rss_gb(), 2)}
    if stage == "sft":
        from firered_ocr.config_io import load_config
        from firered_ocr.training.sft import SFTConfig, run_sft

        overrides = [f"model.model={args.checkpoint}", f"data.path={args.data}", f"output_dir={args.out / 'sft'}",
                     *(f"{k}={v}" for k, (v, _) in subs["sft"].items())]
        cfg = load_config(SFTConfig, RECIPE, overrides, section="sft")
        timer = StepTimer()
        summary = run_sft(cfg, log=lambda *a: print(*a, flush=True), callbacks=[timer])
        return {"seconds_per_step": timer.seconds, "train_loss": summary["train_loss"],
                "trainable_groups": timer.groups, "total_seconds": round(time.perf_counter() - t0, 1),
                "peak_rss_gb": round(peak_rss_gb(), 2)}
    if stage == "grpo":
        from firered_ocr.training.grpo import load_grpo_config, run_grpo

        overrides = [f"model={args.checkpoint}", f"data.path={args.data}", f"output_dir={args.out / 'grpo'}",
                     *(f"{k}={v}" for k, (v, _) in subs["grpo"].items())]
        cfg = load_grpo_config(RECIPE, overrides)
        timer = StepTimer()
        run_grpo(cfg, callbacks=[timer])
        return {"seconds_per_step": timer.seconds, "trainable_groups": timer.groups,
                "total_seconds": round(time.perf_counter() - t0, 1), "peak_rss_gb": round(peak_rss_gb(), 2)}
    if stage == "predict":
        from firered_ocr.model_loading import LoadConfig
        from firered_ocr.predict import GenerationConfig, PredictConfig, predict_to_dir

        cfg = PredictConfig(inputs=[str(args.page)], out=str(args.out / "predict"), batch_size=1,
                            load=LoadConfig(model=str(args.checkpoint), device="cpu", dtype="float32"),
                            generation=GenerationConfig(max_new_tokens=args.new_tokens))
        import torch

        torch.set_num_threads(args.threads)
        failures = predict_to_dir(cfg, log=lambda *a: print(*a, flush=True))
        return {"seconds": round(time.perf_counter() - t0, 1), "failures": failures,
                "peak_rss_gb": round(peak_rss_gb(), 2)}
    raise SystemExit(f"unknown stage {stage!r}")


def run_child(stage: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", stage, "--shape", args.shape, "--workdir", str(args.workdir),
           "--page-side", str(args.page_side), "--max-length", str(args.max_length),
           "--new-tokens", str(args.new_tokens), "--threads", str(args.threads),
           *(["--tokenizer", args.tokenizer] if args.tokenizer else [])]
    print(f"--- {stage}: {' '.join(cmd[1:])}", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise SystemExit(f"stage {stage} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1][len("RESULT "):])


def prepare_data(args) -> None:
    """Two rendered synthetic pages, and one of them downscaled to the CPU page side for `predict`."""
    from PIL import Image

    if not (args.data / "train.jsonl").is_file():
        subprocess.run([sys.executable, "-m", "firered_ocr", "prep", "synth", "--n", "2", "--out", str(args.data),
                        "--workers", "1", "--no-progress", "--val-fraction", "0", "--seed", "0"],
                       check=True, capture_output=True)
    first = json.loads((args.data / "train.jsonl").read_text().splitlines()[0])
    image = Image.open(args.data / first["image"]).convert("RGB")
    scale = args.page_side / max(image.size)
    image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS).save(args.page)


def vision_tokens(checkpoint: Path, page: Path, sides: list[int]) -> dict[str, int]:
    """Merged vision tokens of the first training page, as the checkpoint's processor makes them."""
    from PIL import Image
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(checkpoint)
    image = Image.open(page).convert("RGB")
    merge = processor.image_processor.merge_size ** 2
    out = {"original_size": "x".join(map(str, image.size))}
    for side in sides:
        scale = min(1.0, side / max(image.size))
        resized = image.resize((round(image.width * scale), round(image.height * scale)))
        grid = processor.image_processor(images=[resized], return_tensors="pt")["image_grid_thw"][0].tolist()
        out[f"{side}px"] = int(grid[0] * grid[1] * grid[2] // merge)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="qwen3-vl-2b", help="qwen3-vl-2b (the benchmark) or qwen3-vl-2b-narrow")
    p.add_argument("--workdir", type=Path, default=REPO / "runs" / "bench-real-shape")
    p.add_argument("--page-side", type=int, default=256, help="CPU page size (longest side, px)")
    p.add_argument("--max-length", type=int, default=320, help="CPU token cap per SFT page")
    p.add_argument("--new-tokens", type=int, default=4, help="GRPO completion / predict budget")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tokenizer", default=None, metavar="TOKENIZER_JSON",
                   help="build the checkpoint around this tokenizer.json (e.g. Qwen's own) instead of ours")
    p.add_argument("--report-only", action="store_true", help="print the last run's results again")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.checkpoint = args.workdir / f"checkpoint-{args.shape}{'-own-tokenizer' if args.tokenizer else ''}"
    args.data = args.workdir / "data"
    args.page = args.workdir / "page.png"
    args.out = args.workdir / f"out-{args.shape}"
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args)), flush=True)
        return 0

    if args.report_only:
        report(json.loads((args.workdir / "real_shape_results.json").read_text()))
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: dict = {"shape": args.shape, "tokenizer": args.tokenizer or "trained locally", "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "recipe": str(RECIPE.relative_to(REPO)), "substitutions": {}}
    print(f"recipe {RECIPE.relative_to(REPO)} at shape {args.shape}; CPU substitutions:")
    for stage, subs in substitutions(args).items():
        for key, (value, why) in subs.items():
            print(f"  {stage:<5} {key}={value:<8} ({why})")
        results["substitutions"][stage] = {k: v for k, (v, _) in subs.items()}
    meta = args.checkpoint / "firered_tiny.json"
    built = json.loads(meta.read_text())["config"] if meta.is_file() else {}
    if (built.get("shape"), built.get("tokenizer_file")) != (args.shape, args.tokenizer):
        results["build"] = run_child("build", args)
    prepare_data(args)
    first = json.loads((args.data / "train.jsonl").read_text().splitlines()[0])
    results["vision_tokens_per_page"] = vision_tokens(args.checkpoint, args.data / first["image"],
                                                      [RECIPE_PAGE_SIDE, args.page_side])
    for stage in ("sft", "grpo", "predict"):
        results[stage] = run_child(stage, args)
    (args.workdir / "real_shape_results.json").write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    return 0


def report(r: dict) -> None:
    vt = r["vision_tokens_per_page"]
    print(f"\nshape {r['shape']}, tokenizer: {r.get('tokenizer', 'trained locally')}, run {r['date']}")
    print(f"vision tokens per page ({vt['original_size']} px rendered): {vt[f'{RECIPE_PAGE_SIDE}px']} at the recipe's "
          f"{RECIPE_PAGE_SIDE} px; " + ", ".join(f"{v} at {k}" for k, v in vt.items()
                                                 if k not in ("original_size", f"{RECIPE_PAGE_SIDE}px")))
    if "build" in r:
        print(f"build checkpoint: {r['build']['seconds']} s, peak RSS {r['build']['peak_rss_gb']} GB")
    print(f"{'stage':<8}{'s/step':>10}{'total s':>10}{'peak RSS GB':>13}")
    for stage in ("sft", "grpo"):
        s = r[stage]
        print(f"{stage:<8}{s['seconds_per_step'][0]:>10.1f}{s['total_seconds']:>10.1f}{s['peak_rss_gb']:>13.2f}")
    print(f"{'predict':<8}{'':>10}{r['predict']['seconds']:>10.1f}{r['predict']['peak_rss_gb']:>13.2f}")
    full_finetune_on_this_machine(r)
    print("trainable parameters per module group (SFT, LoRA recipe):")
    for group, c in sorted(r["sft"]["trainable_groups"].items()):
        print(f"  {group:<18} trainable {c['trainable']:>13,}   frozen {c['frozen']:>13,}")


def full_finetune_on_this_machine(r: dict) -> None:
    """Why the full-fine-tuning recipe is estimated instead of run here: AdamW in fp32 needs 16 bytes a parameter."""
    import os

    from firered_ocr.model_shapes import shape_config
    from firered_ocr.training.memory_estimate import CPU, GIB, Workload, estimate

    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    tokens = int(r["substitutions"]["sft"]["max_length"])
    e = estimate(shape_config(r["shape"]), Workload(stage="sft", tokens=tokens, image_tokens=64), CPU, 1)
    lines = ", ".join(f"{k} {v / GIB:.1f}" for k, v in e.items() if v and k != "total")
    print(f"full fine-tuning (configs/qwen3vl_2b_full.yaml) in fp32 with AdamW, one {tokens}-token page: "
          f"{e['total'] / GIB:.1f} GiB ({lines}) against {ram:.0f} GiB of RAM here -- "
          f"{'not run' if e['total'] / GIB > ram else 'would fit'}; per-GPU estimates for the recipes' launchers: "
          f"firered-ocr memory-estimate --config configs/qwen3vl_2b_full.yaml")


if __name__ == "__main__":
    sys.exit(main())
