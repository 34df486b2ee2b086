"""The two compute paths of gennet's operators (issue 16): ``"gpu"`` (few, large kernels) and ``"cpu"`` (cache-sized
work, less arithmetic), chosen by a constructor argument ``path`` on any device; ``"auto"`` follows the input's device.
Used by :class:`~gennet.transforms.Scattering2D`, :class:`~gennet.transforms.RectifiedWavelet2D` and
:class:`~gennet.sparse.ADMM` (its implicit backward)."""

from __future__ import annotations

import torch

__all__ = ["PATHS", "check_path", "resolve_path"]

PATHS = ("auto", "gpu", "cpu")


def check_path(path: str) -> str:
    """``path`` itself if it is one of :data:`PATHS`.

    Raises:
        ValueError: any other value, naming it."""
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    return path


def resolve_path(path: str, t: torch.Tensor) -> str:
    """``"gpu"`` or ``"cpu"``: the path taken for an input ``t`` (``"auto"``: ``"cpu"`` for CPU tensors, else ``"gpu"``)."""
    if path != "auto":
        return path
    return "cpu" if t.device.type == "cpu" else "gpu"
