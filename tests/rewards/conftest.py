"""Reward-test setup: this folder on sys.path, so the TEDS tests import teds_reference (importlib import mode)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
