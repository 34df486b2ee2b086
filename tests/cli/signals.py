"""A callback for the resume tests: the process sends itself a real signal during a given training step."""

from __future__ import annotations

import os
import signal

import lightning.pytorch as pl


class SignalAtStep(pl.Callback):
    """``os.kill(os.getpid(), signal)`` as training step ``step`` (global step count, from 1) starts: the
    signal arrives while that step runs, and the run should stop right after it."""

    def __init__(self, step: int, signum: str = "SIGTERM") -> None:
        self.step, self.signum = int(step), getattr(signal, signum)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step - 1:
            os.kill(os.getpid(), self.signum)
