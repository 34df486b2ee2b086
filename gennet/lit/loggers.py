"""Logger factories for the Hydra ``logger`` group."""

from __future__ import annotations

import os

from lightning.pytorch.loggers import WandbLogger

__all__ = ["wandb_logger"]


def wandb_logger(offline: bool | None = None, save_dir: str = ".", project: str = "gennet", **kwargs) -> WandbLogger:
    """Lightning's ``WandbLogger``, offline unless a key is configured.

    Args:
        offline: ``None`` (default) means offline unless the ``WANDB_API_KEY`` environment variable is
            set; ``true``/``false`` force it. Offline runs land in ``<save_dir>/wandb/offline-run-*``
            and can be uploaded later with ``wandb sync``.
        save_dir: the run directory (``${paths.output_dir}``).
        project: wandb project name.
        **kwargs: passed to ``WandbLogger`` (``name``, ``tags``, ``log_model``, …).
    """
    if offline is None:
        offline = not os.environ.get("WANDB_API_KEY")
    return WandbLogger(offline=bool(offline), save_dir=save_dir, project=project, **kwargs)
