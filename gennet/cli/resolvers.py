"""OmegaConf resolvers used by the configs."""

from __future__ import annotations

from omegaconf import OmegaConf

__all__ = ["register_resolvers", "precision_for", "monitor_for"]


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


def monitor_for(target: str) -> str:
    """The metric that picks the best checkpoint of a LightningModule: its class attribute ``monitor``.

    ``${gennet.monitor:${model._target_}}`` in ``callbacks/default.yaml``, so that ``model=generator``
    keeps the best ``val/psnr`` and ``model=sparse_scatnet`` the best ``val/acc`` (both: higher is better).
    """
    from hydra.utils import get_class

    return str(getattr(get_class(target), "monitor", "val/loss"))


def register_resolvers() -> None:
    """Register ``gennet.precision`` and ``gennet.monitor`` (idempotent)."""
    for name, resolver in (("gennet.precision", precision_for), ("gennet.monitor", monitor_for)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
