"""Checkpoint files that are never half-written: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO

__all__ = ["AtomicCheckpointIO"]


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's ``TorchCheckpointIO``, but a local checkpoint is written to ``<name>.tmp-<pid>`` in the same
    folder, flushed to disk (``fsync``) and renamed over the target (``os.replace``, atomic on POSIX). A
    process killed during the write, or a save that fails, leaves the previous file (e.g. ``last.ckpt``)
    intact and never a truncated one. Remote (fsspec) paths keep Lightning's behaviour.

    Used through the Trainer's ``plugins`` (``gennet/conf/trainer/default.yaml``).
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        protocol = get_filesystem(path).protocol
        if storage_options is not None or "file" not in (protocol if isinstance(protocol, tuple) else (protocol,)):
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
