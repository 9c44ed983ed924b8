"""Child process of the SIGKILL resume test: an SFT run that stalls at a given step, waiting to be killed.

usage: python sft_child.py '<JSON list of config overrides>' STALL_STEP MARKER_FILE
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from transformers import TrainerCallback

from firered_ocr.config_io import load_config
from firered_ocr.training.sft import SFTConfig, run_sft


class Stall(TrainerCallback):
    def __init__(self, step: int, marker: Path) -> None:
        self.step = step
        self.marker = marker

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            self.marker.write_text(str(state.global_step))
            time.sleep(600)  # the test kills us here


if __name__ == "__main__":
    overrides, stall_step, marker = json.loads(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    run_sft(load_config(SFTConfig, None, overrides), log=lambda *_: None, callbacks=[Stall(stall_step, marker)])
