"""Fréchet distances between generated and real images through torchmetrics' ``FrechetInceptionDistance``.

``feature="inception"``: the standard FID (Heusel et al. 2017) on torch-fidelity's Inception-v3 pool
features (2048). Its weights are downloaded on first use into ``$TORCH_HOME/hub/checkpoints``; offline,
they must already be there (or be given as ``weights_path``), else the FID is skipped with a message.
``feature="scattering"``: the same Fréchet distance on download-free features, the spatial means of a
second-order scattering :class:`~gennet.transforms.Scattering2D` (``log(1 + ·)``), to compare runs
offline; its values are not comparable with published FIDs.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance

from ..transforms.scattering import Scattering2D

__all__ = ["ScatteringStatistics", "frechet_distance"]

INCEPTION_HINT = (
    "the Inception weights are not available offline: torch-fidelity downloads "
    "weights-inception-2015-12-05-6726825d.pth into $TORCH_HOME/hub/checkpoints (copy it there, or set "
    "fid.weights_path=FILE); fid.feature=scattering gives a download-free Fréchet distance"
)


class ScatteringStatistics(nn.Module):
    """``(B, C, H, W)`` images in [0, 1] → ``(B, C·K)`` features ``log(1 + mean_positions S_J x)``.

    ``S_J``: :class:`~gennet.transforms.Scattering2D` of order 2 with ``L=8`` and ``J = min(3, log2(min(H, W)) − 1)``.
    """

    def __init__(self, shape: tuple[int, int], channels: int) -> None:
        super().__init__()
        J = max(1, min(3, min(shape).bit_length() - 2))
        self.scattering = Scattering2D(J, shape, L=8, max_order=2)
        self.num_features = channels * self.scattering.output_shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log1p(self.scattering(x.float()).mean((-1, -2)).flatten(1))


def frechet_distance(
    real: Iterable[torch.Tensor],
    fake: Iterable[torch.Tensor],
    image_shape: tuple[int, int, int],
    feature: str = "inception",
    weights_path: str | None = None,
    device: torch.device | str = "cpu",
) -> tuple[float | None, str]:
    """``(FID, status)`` between batches of images in [−1, 1] (``(B, C, H, W)``, grayscale allowed).

    Returns ``(None, reason)`` when the Inception weights cannot be had offline.

    Raises:
        ValueError: an unknown ``feature``.
    """
    C, H, W = image_shape
    if feature == "inception":
        try:
            metric = FrechetInceptionDistance(feature=2048, normalize=True, feature_extractor_weights_path=weights_path)
        except (OSError, RuntimeError) as error:  # URLError is an OSError
            return None, f"skipped: {INCEPTION_HINT} ({type(error).__name__}: {str(error)[:120]})"
        to_input = (lambda x: ((x + 1) / 2).expand(-1, 3, -1, -1)) if C == 1 else (lambda x: (x + 1) / 2)
    elif feature == "scattering":
        metric = FrechetInceptionDistance(feature=ScatteringStatistics((H, W), C), normalize=True)
        to_input = lambda x: (x + 1) / 2  # noqa: E731
    else:
        raise ValueError(f"fid.feature must be 'inception', 'scattering' or 'none', got {feature!r}")
    metric = metric.to(device)
    for images, is_real in ((real, True), (fake, False)):
        for x in images:
            metric.update(to_input(x.to(device).float().clamp(-1, 1)), real=is_real)
    return float(metric.compute()), f"computed on {feature} features"
