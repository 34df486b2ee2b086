"""A callback for the distributed tests: every rank saves its learned weights at the end of training."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import torch


class RankWeights(pl.Callback):
    """Write ``<dirpath>/rank<R>.pt``: the LightningModule's ``state_dict`` on global rank ``R``."""

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()}
        torch.save(state, self.dirpath / f"rank{trainer.global_rank}.pt")
