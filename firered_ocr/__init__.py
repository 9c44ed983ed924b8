"""firered-ocr: structural document parsing with Qwen3-VL (models, prompts, prediction, training, CLI)."""

__version__ = "0.1.0"
