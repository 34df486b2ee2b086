"""Surviving preemption: on SIGTERM or SIGINT, finish the current step, write ``last.ckpt``, exit non-zero;
and the random-number state in every checkpoint, so that ``ckpt_path=last`` continues exactly."""

from __future__ import annotations

import random
import signal
import sys
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

__all__ = ["Preemption", "RandomState"]


class Preemption(pl.Callback):
    """SIGTERM (a cluster's preemption) or SIGINT (Ctrl-C) stops training at the end of the current
    training step — never inside an optimizer step — and writes ``<dirpath>/last.ckpt`` (atomically, through
    the trainer's checkpoint IO); ``train.py`` then exits with status 143. Resume with
    ``python train.py ckpt_path=last hydra.run.dir=<the same run directory>``.

    The handlers only note the signal. At the end of every training step the ranks agree (any rank
    signalled → all stop: one boolean all-reduce, as Lightning's own per-step SIGTERM broadcast) and then
    set the trainer's SIGTERM flag, which Lightning checks right after the step. So every rank stops after
    the same step, whichever of them got the signal and when; Lightning's own handler, which runs a
    collective inside the signal handler and forwards the signal to the other processes, is replaced while
    training runs (it could leave the ranks waiting on different collectives).

    Args:
        dirpath: the checkpoint folder (``${paths.output_dir}/checkpoints``, as ModelCheckpoint's).
    """

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)
        self._previous: dict[int, Any] = {}
        self._signalled = False

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # after Lightning registered its handlers (Trainer._run), so that these replace them
        def note(signum, frame) -> None:
            self._signalled = True

        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[signum] = signal.signal(signum, note)
            except ValueError:  # not the main thread: leave the handlers alone
                pass

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if trainer.strategy.reduce_boolean_decision(self._signalled, all=False):
            trainer._signal_connector.received_sigterm = True  # Lightning raises SIGTERMException after the step

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore_handlers()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._restore_handlers()
        if not isinstance(exception, SIGTERMException):
            return
        path = self.dirpath / "last.ckpt"
        trainer.save_checkpoint(path, weights_only=False)  # the full training state, not only the weights
        if trainer.is_global_zero:
            print(f"interrupted by a signal after step {trainer.global_step}: checkpoint written to {path}", file=sys.stderr)


class RandomState(pl.Callback):
    """Saves the states of torch's (CPU and CUDA), NumPy's and Python's random generators in every checkpoint
    and restores them on resume (plain tensors and lists: loads with ``weights_only=True``)."""

    def state_dict(self) -> dict[str, Any]:
        name, keys, position, has_gauss, gauss = np.random.get_state()
        version, internal, gauss_next = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(gauss)],
            "python": [version, list(internal), gauss_next],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch"])
        if state["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
        name, keys, position, has_gauss, gauss = state["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
        version, internal, gauss_next = state["python"]
        random.setstate((version, tuple(internal), gauss_next))
