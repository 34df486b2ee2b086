"""Download-free image features for a Fréchet distance: the spatial means of a second-order scattering transform.

Used by :func:`~gennet.metrics.frechet.frechet_distance` with ``feature="scattering"`` to compare runs offline;
distances in these features are not comparable with published (Inception) FIDs.
"""

from __future__ import annotations

import torch
from torch import nn

from ..transforms.scattering import Scattering2D

__all__ = ["ScatteringStatistics"]


class ScatteringStatistics(nn.Module):
    """``(B, C, H, W)`` images in [0, 1] → ``(B, C·K)`` float32 features ``log(1 + mean_positions S_J x)``.

    ``S_J``: :class:`~gennet.transforms.Scattering2D` of order 2 with ``L=8`` and ``J = min(3, log2(min(H, W)) − 1)``
    (at least 1); ``K`` its number of channels per image channel. ``num_features = C·K`` (what torchmetrics'
    ``FrechetInceptionDistance`` reads of a custom feature extractor).

    Args:
        shape: ``(H, W)`` of the images, pixels.
        channels: ``C``.
    """

    def __init__(self, shape: tuple[int, int], channels: int) -> None:
        super().__init__()
        J = max(1, min(3, min(shape).bit_length() - 2))
        self.scattering = Scattering2D(J, shape, L=8, max_order=2)
        self.num_features = channels * self.scattering.output_shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log1p(self.scattering(x.float()).mean((-1, -2)).flatten(1))
