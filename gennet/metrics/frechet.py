"""Fréchet distances between generated and real images through torchmetrics' ``FrechetInceptionDistance``.

``feature="inception"``: the standard FID (Heusel et al. 2017, ``‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2(Σ_r Σ_g)^½)``) on
torch-fidelity's Inception-v3 pool features (2048). Its weights are downloaded on first use into
``$TORCH_HOME/hub/checkpoints``; offline, they must already be there (or be given as ``weights_path``), else the
distance is skipped with a message. ``feature="scattering"``: the same Fréchet distance on download-free features,
:class:`~gennet.metrics.scattering_statistics.ScatteringStatistics`, to compare runs offline; its values are not
comparable with published FIDs. (Digits: :mod:`gennet.metrics.digit_quality`.)
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from .scattering_statistics import ScatteringStatistics

__all__ = ["INCEPTION_HINT", "frechet_distance"]

#: Why an Inception FID was skipped, and the remedies (``fid.*`` are evaluate.py's keys).
INCEPTION_HINT = (
    "the Inception weights are not available offline: torch-fidelity downloads "
    "weights-inception-2015-12-05-6726825d.pth into $TORCH_HOME/hub/checkpoints (copy it there, or set "
    "fid.weights_path=FILE); fid.feature=scattering gives a download-free Fréchet distance"
)


def frechet_distance(
    real: Iterable[torch.Tensor],
    fake: Iterable[torch.Tensor],
    image_shape: tuple[int, int, int],
    feature: str = "inception",
    weights_path: str | None = None,
    device: torch.device | str = "cpu",
) -> tuple[float | None, str]:
    """``(distance, status)`` between batches of images ``(B, C, H, W)`` in [−1, 1] (grayscale allowed) of ``image_shape``
    ``(C, H, W)``.

    Returns ``(None, "skipped: …")`` when the Inception weights cannot be had offline.

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
