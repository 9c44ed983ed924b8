"""One callback for every arm: the wall-time budget, and held-out evaluations during training.

Evaluation time is excluded from the budget (the clock pauses while it runs), so an arm's training seconds
are the same whatever its evaluations cost, and the curves' x axis is training seconds.
"""
from __future__ import annotations

import time

from transformers import TrainerCallback


class BudgetAndCurve(TrainerCallback):
    """Stop after `seconds` of training; evaluate every `every` training seconds and when stopping.

    `evaluate(model) -> summary dict` is called on the training process's model (greedy, held-out pages).
    `curve` collects `{"seconds", "step", **summary}` points; `steps` and `seconds` hold the final counts.
    """

    def __init__(self, seconds: float, every: float, evaluate, clock=time.perf_counter) -> None:
        self.budget, self.every, self.evaluate, self.clock = seconds, every, evaluate, clock
        self.curve: list[dict] = []
        self.start = self.paused = 0.0
        self.next_eval = every
        self.steps = 0
        self.seconds = 0.0

    def training_seconds(self) -> float:
        return self.clock() - self.start - self.paused

    def on_train_begin(self, args, state, control, **kwargs):
        self.start, self.paused, self.next_eval = self.clock(), 0.0, self.every

    def _point(self, model, state) -> None:
        t = self.training_seconds()
        began = self.clock()
        summary = self.evaluate(model)
        self.paused += self.clock() - began
        self.curve.append({"seconds": round(t, 2), "step": state.global_step, **summary})

    def on_step_end(self, args, state, control, model=None, **kwargs):
        t = self.training_seconds()
        self.steps, self.seconds = state.global_step, t
        if t >= self.budget:
            control.should_training_stop = True
            control.should_save = True
            self._point(model, state)
        elif t >= self.next_eval:
            self._point(model, state)
            while self.next_eval <= t:
                self.next_eval += self.every
        return control

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if not self.curve or self.curve[-1]["step"] != state.global_step:  # stopped by something else
            self.steps, self.seconds = state.global_step, self.training_seconds()
            self._point(model, state)
