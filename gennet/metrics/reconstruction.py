"""Reconstruction quality of an encoder-decoder ``x ↦ G(Φ(x))`` over a set of images, and the statistics of its sparse
codes (what ``evaluate.py`` reports per split).

PSNR (dB) and SSIM by torchmetrics for images in [−1, 1] (data range 2), accumulated over all the images; the
low-pass baseline is the PSNR of :meth:`lowpass_image` ``(Φ(x))`` (what the coarse scale alone gives). For a sparse
decoder, the code statistics its ``decode(w, return_stats=True)`` returns (nonzeros per pixel, the relative
duality gap of the Lasso at the returned codes, fraction of active coefficients, support size, relative residual
``‖w_band − Ãz‖/‖w_band‖``) are averaged over the images (each batch weighted by its size).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure
from tqdm.auto import tqdm

__all__ = ["CODE_KEYS", "reconstruction_quality"]

#: The sparse-code statistics averaged by :func:`reconstruction_quality` (absent for a decoder without codes).
CODE_KEYS = ("nonzeros_per_pixel", "duality_gap", "sparsity", "support_size", "relative_residual")


@torch.no_grad()
def reconstruction_quality(
    generator,
    images: Iterable[torch.Tensor],
    device: torch.device | str = "cpu",
    total: int | None = None,
    desc: str = "evaluating",
) -> dict[str, float]:
    """PSNR, SSIM, low-pass PSNR and code statistics of ``G(Φ(x))`` over batches ``x: (b, C, H, W)`` in [−1, 1].

    Args:
        generator: ``encode``, ``decode(w, return_stats=True) -> (x̂, stats or None)`` and ``lowpass_image``
            (:class:`~gennet.models.SparseInverseGenerator`, :class:`~gennet.models.CNNGenerator`), on ``device``.
        images: the batches (any device; moved to ``device``).
        total, desc: the progress bar's number of batches and label.

    Returns:
        ``{"images": count, "psnr", "ssim", "psnr_lowpass"}`` and, for a sparse decoder, the :data:`CODE_KEYS` means.
    """
    psnr, lowpass = PeakSignalNoiseRatio(data_range=2.0).to(device), PeakSignalNoiseRatio(data_range=2.0).to(device)
    ssim = StructuralSimilarityIndexMeasure(data_range=2.0).to(device)
    totals, count = dict.fromkeys(CODE_KEYS, 0.0), 0
    for x in tqdm(images, total=total, desc=desc, leave=False):
        x = x.to(device)
        w = generator.encode(x)
        x_hat, stats = generator.decode(w, return_stats=True)
        x_hat = x_hat.float().clamp(-1, 1)
        psnr.update(x_hat, x)
        ssim.update(x_hat, x)
        lowpass.update(generator.lowpass_image(w).float().clamp(-1, 1), x)
        if stats is not None:
            for key in CODE_KEYS:
                totals[key] += float(getattr(stats, key)) * x.shape[0]
        count += x.shape[0]
    out = {"images": count, "psnr": float(psnr.compute()), "ssim": float(ssim.compute()), "psnr_lowpass": float(lowpass.compute())}
    if stats is not None:
        out.update({key: totals[key] / count for key in CODE_KEYS})
    return out
