"""The GPU check behind benchmarks/gpu_check.sh: the 2B LoRA recipe in bf16 at the real Qwen3-VL-2B shape.

Stages, each timed and each with its own peak GPU memory, written to the results file as soon as it ends
(a timeout still leaves the stages before it):
  build       the random-weight 2B checkpoint (`make-tiny-model --shape qwen3-vl-2b`), cached in --workdir
  data        rendered synthetic pages (`prep synth`), at the recipe's 1288 px
  sft         `run_sft` on configs/qwen3vl_2b_lora.yaml's `sft:` section: tokens/s over the timed steps
  sft_plain   the same batches, model, LoRA and optimizer in a plain transformers + peft loop (no Trainer)
  grpo        `run_grpo` on its `grpo:` section (FireRed trainer): completion tokens/s
  grpo_plain  TRL's own GRPOTrainer on the same TRL config, rewards and data
  grpo_vllm   the FireRed trainer with vLLM colocated rollouts, when vLLM imports
`--dry-run` runs every stage on the CPU with the tiny checkpoint and tiny sizes: it proves the plumbing
(this is what the test suite runs), not the speed.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
RECIPE = REPO / "configs" / "qwen3vl_2b_lora.yaml"


def sizes(args) -> dict:
    """What each stage runs; the dry run shrinks everything to CPU size."""
    if args.dry_run:
        return dict(shape="tiny", device="cpu", bf16="false", sft_steps=2, batch=1, max_length=256, page_side=256,
                    grpo_steps=1, generations=2, completion=4, pages=2)
    return dict(shape="qwen3-vl-2b", device="cuda", bf16="true", sft_steps=6, batch=2, max_length=4096,
                page_side=1288, grpo_steps=3, generations=8, completion=256, pages=16)


class Recorder:
    """Results file updated after every stage."""

    def __init__(self, path: Path, meta: dict):
        self.path, self.data = path, {**meta, "stages": {}}
        self.flush()

    def flush(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=2) + "\n")

    def stage(self, name: str, fn, *a) -> dict | None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        try:
            result = fn(*a) or {}
            result["ok"] = True
        except Exception as exc:  # one stage failing must not lose the others' numbers
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000],
                      "traceback": traceback.format_exc()[-3000:]}
        result["seconds"] = round(time.perf_counter() - t0, 1)
        if torch.cuda.is_available():
            result["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 1024 ** 3, 2)
        self.data["stages"][name] = result
        self.flush()
        print(f"[gpu_check] {name}: {json.dumps({k: v for k, v in result.items() if k != 'traceback'})}", flush=True)
        return result


def build(args, s):
    meta = args.checkpoint / "firered_tiny.json"
    if meta.is_file() and json.loads(meta.read_text())["config"].get("shape") == s["shape"]:
        return {"cached": True}
    subprocess.run([sys.executable, "-m", "firered_ocr", "make-tiny-model", str(args.checkpoint), "--shape",
                    s["shape"]], check=True)
    return {"cached": False}


def data(args, s):
    if not (args.data / "train.jsonl").is_file():
        subprocess.run([sys.executable, "-m", "firered_ocr", "prep", "synth", "--n", str(s["pages"]), "--out",
                        str(args.data), "--no-progress", "--val-fraction", "0", "--seed", "0"], check=True)
    return {"pages": len((args.data / "train.jsonl").read_text().splitlines())}


def _sft_cfg(args, s, out: str):
    from firered_ocr.config_io import load_config
    from firered_ocr.training.sft import SFTConfig

    return load_config(SFTConfig, RECIPE, [
        f"model.model={args.checkpoint}", f"data.path={args.data}", f"output_dir={args.workdir / out}",
        f"optim.bf16={s['bf16']}", f"optim.max_steps={s['sft_steps']}", f"optim.per_device_batch_size={s['batch']}",
        "optim.gradient_accumulation_steps=1", f"max_length={s['max_length']}", f"data.image_max_side={s['page_side']}",
        "validation.n_pages=0", "report_to=[]", "dataloader_num_workers=0", "save_steps=100000", "resume=never",
        "lora.merge_final=false"], section="sft")


def _page_tokens(cfg, n_pages: int) -> list[int]:
    """Tokens per page as the SFT collator builds them (prompt + image + answer, capped)."""
    from firered_ocr.model_loading import load_processor
    from firered_ocr.training.data import load_chat_split
    from firered_ocr.training.sft_collator import SFTCollator

    rows = load_chat_split(cfg.data, cfg.data.train_split)
    collator = SFTCollator(load_processor(str(cfg.model.model)), instruction=cfg.data.instruction,
                           max_length=cfg.max_length)
    return [int(collator([rows[i % len(rows)]])["attention_mask"].sum()) for i in range(n_pages)]


def sft(args, s):
    from bench_real_shape import StepTimer

    from firered_ocr.training.sft import run_sft

    cfg = _sft_cfg(args, s, "sft")
    timer = StepTimer()
    run_sft(cfg, log=lambda *a: print(*a, flush=True), callbacks=[timer])
    tokens = _page_tokens(cfg, s["sft_steps"] * s["batch"])
    timed = timer.seconds[1:] or timer.seconds  # the first step pays for warm-up
    timed_tokens = sum(tokens[-len(timed) * s["batch"]:])
    return {"seconds_per_step": timer.seconds, "tokens_per_page": tokens[:s["batch"]],
            "tokens_per_s": round(timed_tokens / max(sum(timed), 1e-9), 1)}


def sft_plain(args, s):
    """The same pages through transformers + peft with a bare AdamW loop: the reference for our overhead."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForImageTextToText

    from firered_ocr.model_loading import load_processor
    from firered_ocr.training.data import load_chat_split
    from firered_ocr.training.sft_collator import SFTCollator

    cfg = _sft_cfg(args, s, "sft_plain")
    bf16 = s["bf16"] == "true"
    model = AutoModelForImageTextToText.from_pretrained(str(args.checkpoint), dtype=torch.float32).to(s["device"])
    model = get_peft_model(model, cfg.lora.peft_config())
    model.activation_checkpointing_enable()
    model.config.use_cache = False
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.optim.learning_rate)
    rows = load_chat_split(cfg.data, cfg.data.train_split)
    collator = SFTCollator(load_processor(str(args.checkpoint)), instruction=cfg.data.instruction,
                           max_length=cfg.max_length)
    seconds, tokens = [], []
    for step in range(s["sft_steps"]):
        batch = collator([rows[(step * s["batch"] + i) % len(rows)] for i in range(s["batch"])])
        batch = {k: v.to(s["device"]) if hasattr(v, "to") else v for k, v in batch.items()}
        t0 = time.perf_counter()
        with torch.autocast(s["device"], dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.max_grad_norm)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if s["device"] == "cuda":
            torch.cuda.synchronize()
        seconds.append(round(time.perf_counter() - t0, 2))
        tokens.append(int(batch["attention_mask"].sum()))
    timed = slice(1, None) if len(seconds) > 1 else slice(None)
    return {"seconds_per_step": seconds, "tokens_per_s": round(sum(tokens[timed]) / max(sum(seconds[timed]), 1e-9), 1)}


def _grpo_cfg(args, s, out: str, *extra: str):
    from firered_ocr.training.grpo import load_grpo_config

    return load_grpo_config(RECIPE, [
        f"model={args.checkpoint}", f"data.path={args.data}", f"output_dir={args.workdir / out}", f"bf16={s['bf16']}",
        f"num_generations={s['generations']}", f"per_device_train_batch_size={s['generations']}",
        "gradient_accumulation_steps=1", f"max_completion_length={s['completion']}", f"max_steps={s['grpo_steps']}",
        f"data.image_max_side={s['page_side']}", "report_to=[]", "save_steps=100000", "samples_per_log=0",
        "write_plots=false", "disable_tqdm=true", "resume=never", *extra])


def _grpo_rate(timer, s) -> dict:
    timed = timer.seconds[1:] or timer.seconds
    completion_tokens = s["generations"] * s["completion"]  # a random model never stops early: full length
    return {"seconds_per_step": timer.seconds,
            "completion_tokens_per_s": round(completion_tokens * len(timed) / max(sum(timed), 1e-9), 1)}


def grpo(args, s, *extra: str):
    from bench_real_shape import StepTimer

    from firered_ocr.training.grpo import run_grpo

    timer = StepTimer()
    run_grpo(_grpo_cfg(args, s, "grpo_vllm" if extra else "grpo", *extra), callbacks=[timer])
    return _grpo_rate(timer, s)


def grpo_plain(args, s):
    """TRL's GRPOTrainer itself on the same TRL config, reward functions, data and LoRA."""
    from bench_real_shape import StepTimer
    from trl import GRPOTrainer

    from firered_ocr.model_loading import load_processor
    from firered_ocr.training.data import load_chat_split
    from firered_ocr.training.grpo import build_grpo_args
    from firered_ocr.training.reward_wiring import build_reward_funcs

    cfg = _grpo_cfg(args, s, "grpo_plain")
    funcs, weights = build_reward_funcs(cfg.rewards, max_completion_length=cfg.max_completion_length)
    timer = StepTimer()
    trainer = GRPOTrainer(model=str(args.checkpoint), reward_funcs=funcs, args=build_grpo_args(cfg, weights),
                          train_dataset=load_chat_split(cfg.data, cfg.data.train_split),
                          processing_class=load_processor(str(args.checkpoint)), callbacks=[timer],
                          peft_config=cfg.lora.peft_config())
    trainer.train()
    return _grpo_rate(timer, s)


def grpo_vllm(args, s):
    if importlib.util.find_spec("vllm") is None:
        return {"skipped": "vLLM is not installed (pip install 'firered-ocr[vllm]')"}
    return grpo(args, s, "use_vllm=true", "vllm_mode=colocate", "vllm_gpu_memory_utilization=0.3")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="CPU, tiny checkpoint, tiny sizes: the plumbing only")
    p.add_argument("--workdir", type=Path, default=REPO / "runs" / "gpu-check")
    p.add_argument("--results", type=Path, default=None, help="JSON file for the numbers (default: WORKDIR/results.json)")
    p.add_argument("--stages", default="build,data,sft,sft_plain,grpo,grpo_plain,grpo_vllm")
    args = p.parse_args()
    s = sizes(args)
    if not args.dry_run:
        import torch

        if not torch.cuda.is_available():
            print("error: no CUDA device; run with --dry-run to check the plumbing on a CPU", file=sys.stderr)
            return 2
    args.checkpoint = args.workdir / f"checkpoint-{s['shape']}"
    args.data = args.workdir / f"data-{s['page_side']}"
    import platform

    import torch
    import transformers
    import trl

    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "dry_run": args.dry_run, "sizes": s,
            "recipe": str(RECIPE.relative_to(REPO)), "host": platform.node(), "torch": torch.__version__,
            "transformers": transformers.__version__, "trl": trl.__version__,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    rec = Recorder(args.results or args.workdir / "results.json", meta)
    stages = {"build": build, "data": data, "sft": sft, "sft_plain": sft_plain, "grpo": grpo,
              "grpo_plain": grpo_plain, "grpo_vllm": grpo_vllm}
    wanted = args.stages.split(",")
    unknown = [n for n in wanted if n not in stages]
    if unknown:
        print(f"error: unknown stages {unknown}; choose from {', '.join(stages)}", file=sys.stderr)
        return 2
    for name in wanted:
        rec.stage(name, stages[name], args, s)
        if name in ("build", "data") and not rec.data["stages"][name]["ok"]:
            break  # nothing after this can run
    failed = [n for n, r in rec.data["stages"].items() if not r["ok"]]
    print(f"[gpu_check] results in {rec.path}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
