"""The device a command runs on (a light module: the entry points that do not train import it without Lightning)."""

from __future__ import annotations

import torch

from ..errors import ConfigError

__all__ = ["device_for"]


def device_for(name: str) -> torch.device:
    """``"auto"`` → CUDA if available, else CPU; otherwise ``torch.device(name)``.

    Raises:
        ConfigError: ``device``, for a name torch does not know, or a CUDA device that this machine does not
            have (checked here, before any work, rather than at the first tensor moved there).
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(str(name))
    except RuntimeError:
        raise ConfigError("device", f"unknown device {name!r} (auto, cpu, cuda, cuda:1, …)") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError("device", f"{name!r} requested but no CUDA GPU is visible on this machine (use device=cpu or auto)")
        if device.index is not None and device.index >= count:
            raise ConfigError("device", f"{name!r} requested but this machine has {count} CUDA GPU(s) (cuda:0 … cuda:{count - 1})")
    return device
