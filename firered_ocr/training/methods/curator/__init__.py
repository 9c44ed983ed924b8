"""Actor-Curator (arXiv 2602.20532): a learned, feature-based curator that picks GRPO's pages by their
measured policy improvement. `CuratorConfig` is the `grpo.curator:` section; see docs/methods.md."""
from firered_ocr.training.methods.curator.config import CuratorConfig

__all__ = ["CuratorConfig"]
