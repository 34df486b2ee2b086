"""What the Lightning modules share to build their optimizers: the optimizer names, and the per-step cosine schedule."""

from __future__ import annotations

import lightning.pytorch as pl
import torch

__all__ = ["OPTIMIZERS", "cosine_per_step", "make_optimizer"]

#: ``model.optimizer`` → the torch optimizer class.
OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


def make_optimizer(name: str, parameters, device: torch.device, **kwargs) -> torch.optim.Optimizer:
    """``OPTIMIZERS[name](parameters, **kwargs)``; Adam and AdamW as one fused kernel over all parameters on CPU and
    CUDA devices (``fused=True``: one operation per step, not ~10 per tensor). ``device``: the parameters' device."""
    fused = {"fused": True} if name in ("adam", "adamw") and torch.device(device).type in ("cpu", "cuda") else {}
    return OPTIMIZERS[name](parameters, **kwargs, **fused)


def cosine_per_step(optimizer: torch.optim.Optimizer, trainer: pl.Trainer) -> dict:
    """``configure_optimizers`` output: cosine decay to 0 over all training steps, stepped every step."""
    total = max(int(trainer.estimated_stepping_batches), 1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
