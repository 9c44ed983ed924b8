"""Load a Qwen3-VL model and its processor from one place: a hub id, a local directory, or the default.

- `None` means the embedded default: the tiny offline checkpoint, built on first use under
  `LoadConfig.home` (so the demo, the app and the tests need no network at all).
- A hub id (`Qwen/Qwen3-VL-2B-Instruct`, `FireRedTeam/FireRed-OCR`) or a local directory goes through
  `from_pretrained`. Offline with a hub id, the user gets one line telling them to pass a local directory.
- A LoRA adapter directory (peft) can be named explicitly, or be the model path itself: its
  `adapter_config.json` names the base model.
dtype and device: bf16 on a GPU that supports it, fp16 on older GPUs, fp32 on CPU (CPU bf16 matmuls are
slow on most x86 machines and the tiny model gains nothing from them).
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path


class ModelLoadError(RuntimeError):
    """A model that cannot be loaded, with a message meant for the user (no stack trace)."""


def default_home() -> Path:
    return Path(os.environ.get("FIRERED_OCR_HOME", Path.home() / ".cache" / "firered-ocr"))


@dataclasses.dataclass
class LoadConfig:
    model: str | None = None  # hub id or local dir; None = the embedded tiny checkpoint
    adapter: str | None = None  # optional LoRA adapter directory
    device: str | None = None  # "cuda", "cuda:1", "cpu", "mps"; None = best available
    dtype: str | None = None  # "bfloat16", "float16", "float32"; None = best for the device
    home: str | None = None  # where the embedded default is built; None = $FIRERED_OCR_HOME or ~/.cache
    attn_implementation: str | None = None  # e.g. "flash_attention_2" on GPUs that have it


def embedded_default_dir(home: str | Path | None = None) -> Path:
    """The tiny checkpoint's directory, built (once, atomically) if absent."""
    from firered_ocr.tiny_model import build_tiny_model, is_tiny_checkpoint

    root = Path(home) if home else default_home()
    target = root / "tiny-qwen3vl-seed0"
    if not is_tiny_checkpoint(target):
        tmp = root / f".tiny-build-{os.getpid()}"
        build_tiny_model(tmp, seed=0)
        try:
            tmp.replace(target)
        except OSError:  # another process finished first: keep theirs
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return target


def pick_device(requested: str | None = None) -> str:
    import torch

    if requested:
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, requested: str | None = None):
    import torch

    if requested:
        try:
            return getattr(torch, requested)
        except AttributeError:
            raise ModelLoadError(f"unknown dtype {requested!r} (use bfloat16, float16 or float32)") from None
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def _looks_like_hub_id(name: str) -> bool:
    return not Path(name).exists() and name.count("/") == 1 and not name.startswith((".", "/", "~"))


def resolve_model_path(cfg: LoadConfig) -> tuple[str, str | None]:
    """(base model path or id, adapter dir or None), following an adapter's `base_model_name_or_path`."""
    if cfg.model is None:
        return str(embedded_default_dir(cfg.home)), cfg.adapter
    model = os.path.expanduser(cfg.model)
    adapter = cfg.adapter
    if Path(model).is_dir() and (Path(model) / "adapter_config.json").is_file() and adapter is None:
        base = json.loads((Path(model) / "adapter_config.json").read_text()).get("base_model_name_or_path")
        if not base:
            raise ModelLoadError(f"{model}: adapter_config.json names no base_model_name_or_path")
        return base, model
    if not Path(model).exists() and not _looks_like_hub_id(model):
        raise ModelLoadError(f"{model}: no such directory, and not a hub id of the form owner/name")
    if Path(model).is_dir() and not (Path(model) / "config.json").is_file():
        raise ModelLoadError(f"{model}: not a model directory (no config.json)")
    return model, adapter


def _hub_reachable(timeout: float = 3.0) -> bool:
    """One quick TCP connect to the hub: huggingface_hub itself retries for minutes when offline."""
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def _local_snapshot(repo_id: str) -> str | None:
    """The cached snapshot of a hub repo, if it was downloaded before (usable offline)."""
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, local_files_only=True)
    except Exception:  # not cached (the hub raises several error types for that)
        return None


def locate(path: str) -> str:
    """A local directory for `path`: itself, a cached hub snapshot, or the hub id when the hub is up."""
    if not _looks_like_hub_id(path):
        return path
    cached = _local_snapshot(path)
    if cached:
        return cached
    if not _hub_reachable():
        raise ModelLoadError(
            f"'{path}' is a Hugging Face hub id, but the hub cannot be reached from this machine and the "
            f"model is not in the local cache; download it elsewhere and pass its directory with --model DIR")
    return path


def load_processor(path: str):
    from transformers import AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(path)
    except OSError as exc:
        raise _friendly(path, exc) from None
    # Batched generation appends new tokens on the right, so prompts are padded on the left.
    processor.tokenizer.padding_side = "left"
    return processor


def _friendly(path: str, exc: Exception) -> ModelLoadError:
    if _looks_like_hub_id(path):
        return ModelLoadError(
            f"could not load '{path}' from the Hugging Face hub ({type(exc).__name__}); if this machine is "
            f"offline, download the model elsewhere and pass its local directory with --model DIR")
    return ModelLoadError(f"{path}: could not load the model: {exc}")


def load_model_and_processor(cfg: LoadConfig):
    """Return (model, processor, info) with the model in eval mode on the chosen device."""
    from transformers import AutoModelForImageTextToText

    path, adapter = resolve_model_path(cfg)
    path = locate(path)
    device = pick_device(cfg.device)
    dtype = pick_dtype(device, cfg.dtype)
    processor = load_processor(path)
    kwargs = {"dtype": dtype}
    if cfg.attn_implementation:
        kwargs["attn_implementation"] = cfg.attn_implementation
    try:
        model = AutoModelForImageTextToText.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise _friendly(path, exc) from None
    if adapter:
        from peft import PeftModel

        if not (Path(adapter) / "adapter_config.json").is_file():
            raise ModelLoadError(f"{adapter}: not a LoRA adapter directory (no adapter_config.json)")
        model = PeftModel.from_pretrained(model, adapter)
    model.to(device).eval()
    info = {"model": path, "adapter": adapter, "device": device, "dtype": str(dtype).removeprefix("torch.")}
    return model, processor, info
