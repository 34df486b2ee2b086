"""The embedding ``Φ = L ∘ U`` (DESIGN §3): first-order phase scattering on the 2^J grid."""

from __future__ import annotations

import torch
from torch import nn

from .lowpass import LowPass2D
from .rectified import RectifiedWavelet2D

__all__ = ["Embedding2D"]


class Embedding2D(nn.Module):
    """``Φ(x) = L U x``: images ``(B, C, H, W)`` → ``w: (B, C·(1 + J·L·A), H/2^J, W/2^J)``.

    Lipschitz and stable to small deformations, not invertible (``L`` averages). Holds the
    rectified transform ``U`` (:class:`RectifiedWavelet2D`, exact inverse) and the projector ``L``
    (:class:`LowPass2D`) as submodules ``rectified`` and ``lowpass``; no learnable parameters.

    Args:
        shape: ``(H, W)`` image size in pixels, divisible by ``2**J``.
        J, L, A: scales, orientations, phases (A even ≥ 4).

    Raises:
        ValueError: as :class:`RectifiedWavelet2D`.
    """

    def __init__(self, shape: tuple[int, int], J: int, L: int = 8, A: int = 4) -> None:
        super().__init__()
        self.rectified = RectifiedWavelet2D(shape, J, L, A)
        self.lowpass = LowPass2D(shape, J, L, A)

    def out_channels(self, in_channels: int) -> int:
        """``C·(1 + J·L·A)``."""
        return in_channels * self.lowpass.channels_per_input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lowpass(self.rectified(x))
