"""The device a command runs on (a light module: the entry points that do not train import it without Lightning)."""

from __future__ import annotations

import torch

from ..errors import ConfigError

__all__ = ["device_for"]


def device_for(name: str) -> torch.device:
    """``"auto"`` → CUDA if available, else CPU; otherwise ``torch.device(name)``.

    Raises:
        ConfigError: ``device``, for a name torch does not know.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError("device", f"unknown device {name!r} (auto, cpu, cuda, cuda:1, …)") from None
