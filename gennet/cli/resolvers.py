"""OmegaConf resolvers used by the configs."""

from __future__ import annotations

from omegaconf import OmegaConf

__all__ = ["register_resolvers", "precision_for"]


def precision_for(accelerator: str, gpu_precision: str = "bf16-mixed") -> str:
    """``gpu_precision`` when training runs on a GPU, ``"32-true"`` otherwise (``${gennet.precision:…}``).

    ``accelerator`` is the trainer's (``gpu``/``cuda`` → GPU; ``auto`` → GPU if one is visible).
    """
    accelerator = str(accelerator).lower()
    if accelerator in ("gpu", "cuda"):
        return gpu_precision
    if accelerator == "auto":
        import torch

        return gpu_precision if torch.cuda.is_available() else "32-true"
    return "32-true"


def register_resolvers() -> None:
    """Register ``gennet.precision`` (idempotent)."""
    if not OmegaConf.has_resolver("gennet.precision"):
        OmegaConf.register_new_resolver("gennet.precision", precision_for)
