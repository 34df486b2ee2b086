"""The fixed front end of the scattering classifiers: ``S_J x`` with its channels standardized (DESIGN §7)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from ..transforms.scattering import Scattering2D
from .standardization import Standardization

__all__ = ["ScatteringFeatures"]


class ScatteringFeatures(nn.Module):
    """``x: (B, C, H, W)`` → standardized scattering maps ``(B, C·K, h, w)``.

    ``S_J`` is :class:`~gennet.transforms.Scattering2D` (``K`` channels per input channel, kymatio's
    order; ``phases=A`` for the phase scattering of Zarka et al.), its ``(C, K)`` channels flattened
    color-major, then :class:`~gennet.models.standardization.Standardization` with train-set
    statistics (:meth:`fit_`; identity until fitted). No learned parameters.

    Args:
        shape: ``(H, W)`` of the images, pixels.
        channels: ``C``.
        J, L, max_order, phases: of the scattering.

    Raises:
        ValueError: from :class:`~gennet.transforms.Scattering2D` (``J`` too large, odd ``phases``, …).
    """

    def __init__(
        self, shape: tuple[int, int], channels: int, J: int, L: int = 8, max_order: int = 2, phases: int | None = 4
    ) -> None:
        super().__init__()
        self.scattering = Scattering2D(J, tuple(shape), L=L, max_order=max_order, phases=phases)
        K, h, w = self.scattering.output_shape
        self.out_channels, self.out_size = channels * K, (h, w)
        self.standardization = Standardization(self.out_channels)

    def scatter(self, x: Tensor) -> Tensor:
        """Unstandardized ``S_J x`` as ``(B, C·K, h, w)``."""
        s = self.scattering(x)
        return s.reshape(s.shape[0], -1, *s.shape[-2:])

    @torch.no_grad()
    def fit_(self, images: Iterable[Tensor]) -> None:
        """Reset and accumulate the standardization statistics over batches of images ``(B, C, H, W)``."""
        self.standardization.reset_()
        for x in images:
            self.standardization.update_(self.scatter(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.standardization(self.scatter(x))
