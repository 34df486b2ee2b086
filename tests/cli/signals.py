"""A callback for the resume tests: the process sends itself a real signal after a given training step."""

from __future__ import annotations

import os
import signal

import lightning.pytorch as pl


class SignalAtStep(pl.Callback):
    """``os.kill(os.getpid(), signal)`` at the end of training step ``step`` (global step count)."""

    def __init__(self, step: int, signum: str = "SIGTERM") -> None:
        self.step, self.signum = int(step), getattr(signal, signum)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)
