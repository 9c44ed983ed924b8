#!/usr/bin/env bash
# The GPU check: the 2B LoRA recipe in bf16 at the real Qwen3-VL-2B shape, on one GPU, within 8 minutes.
#
#   bash benchmarks/gpu_check.sh [RESULTS_JSON]          # on a CUDA machine, from the repository root
#   bash benchmarks/gpu_check.sh --dry-run [RESULTS_JSON] # anywhere: CPU, tiny checkpoint, the plumbing only
#
# It builds the random-weight 2B checkpoint, renders pages at 1288 px, then times one stage after another
# (SFT through our Trainer and through a plain transformers + peft loop; GRPO through our trainer, through
# TRL's own GRPOTrainer, and with vLLM rollouts when vLLM imports), recording seconds per step, tokens per
# second and peak GPU memory per stage. The numbers go to RESULTS_JSON (default: $OUT/gpu_check.json when
# $OUT is set, else runs/gpu-check/results.json), rewritten after every stage, so a stage that runs out of
# time still leaves the ones before it. Stage details: benchmarks/gpu_check.py.
set -euo pipefail

cd "$(dirname "$0")/.."
DRY_RUN=""
if [[ "${1:-}" == "--dry-run" ]]; then
    DRY_RUN="--dry-run"
    shift
fi
RESULTS="${1:-${OUT:+$OUT/gpu_check.json}}"
RESULTS="${RESULTS:-runs/gpu-check/results.json}"
PYTHON="${PYTHON:-.venv/bin/python}"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"
BUDGET_S="${GPU_CHECK_BUDGET_S:-470}"  # 8 minutes minus the start-up and copy-back margin
WORKDIR="${GPU_CHECK_WORKDIR:-runs/gpu-check}"  # checkpoint and pages are cached here between runs

echo "[gpu_check] python: $PYTHON; results: $RESULTS; budget ${BUDGET_S}s ${DRY_RUN:+(dry run)}"
if [[ -z "$DRY_RUN" ]]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    "$PYTHON" - <<'EOF' || { echo "[gpu_check] error: torch sees no CUDA device (use --dry-run on a CPU)"; exit 2; }
import sys, torch
sys.exit(0 if torch.cuda.is_available() else 1)
EOF
    # vLLM is optional: the grpo_vllm stage records "skipped" when it does not import.
    "$PYTHON" -c "import vllm" 2>/dev/null && echo "[gpu_check] vLLM present" || echo "[gpu_check] vLLM absent: grpo_vllm will be skipped"
fi

status=0
timeout --signal=INT --kill-after=20 "$BUDGET_S" "$PYTHON" benchmarks/gpu_check.py $DRY_RUN --workdir "$WORKDIR" --results "$RESULTS" || status=$?
if [[ $status -eq 124 || $status -eq 130 ]]; then
    echo "[gpu_check] stopped at the ${BUDGET_S}s budget; the finished stages are in $RESULTS"
fi
[[ -f "$RESULTS" ]] && cat "$RESULTS"
exit $status
