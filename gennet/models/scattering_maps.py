"""The scattering front end of the hybrid networks: ``S_J x`` with the colors flattened into channels (DESIGN §11)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ..transforms.scattering import Scattering2D

__all__ = ["scattering_maps"]


def scattering_maps(
    shape: tuple[int, int], J: int, L: int = 8, max_order: int = 2, phases: int | None = None
) -> tuple[nn.Sequential, int, tuple[int, int]]:
    """``Sequential(transform=Scattering2D, flatten=Flatten(1, 2))``: ``(B, C, H, W)`` → ``(B, C·K, h, w)``
    (colors major, then kymatio's channel order), with ``K`` (channels per color) and ``(h, w)``.

    Unlike :class:`~gennet.models.ScatteringFeatures` there is no train-set standardization: the hybrids
    normalize with a BatchNorm (Oyallon et al., ICCV 2017).

    Raises:
        ValueError: bad scattering settings (see :class:`~gennet.transforms.Scattering2D`).
    """
    transform = Scattering2D(J, tuple(shape), L=L, max_order=max_order, phases=phases)
    K, h, w = transform.output_shape
    return nn.Sequential(OrderedDict(transform=transform, flatten=nn.Flatten(1, 2))), K, (h, w)
