"""Stopping a diverged run before it damages anything: a non-finite loss ends training, naming the step."""

from __future__ import annotations

import lightning.pytorch as pl
import torch

__all__ = ["NonFiniteLossError", "StopOnNonFiniteLoss"]


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite (``step``: the global step, ``value``: the loss)."""

    def __init__(self, step: int, value: float) -> None:
        super().__init__(f"non-finite loss ({value}) at step {step}")
        self.step, self.value = step, value


class StopOnNonFiniteLoss(pl.Callback):
    """Raises :class:`NonFiniteLossError` *before* the backward pass of a non-finite loss, so no optimizer step
    takes the weights to NaN and no checkpoint is written after it: ``last.ckpt`` stays the last good state.
    In distributed runs the ranks agree first (a NaN on any rank stops all of them)."""

    def on_before_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: torch.Tensor) -> None:
        bad = not bool(torch.isfinite(loss.detach()).all())
        if trainer.strategy.reduce_boolean_decision(bad, all=False):
            raise NonFiniteLossError(trainer.global_step, float(loss.detach()))
