"""How well a decoder keeps the coarse structure it is given: the PSNR between the low-pass images of ``Φ(G(w))`` and
of the condition ``w = Φ(x)`` (coarse-grain sampling, seed 001 "Coarse grain model"; DESIGN §6b).

The low-pass image is :meth:`~gennet.models.EmbeddingInverse.lowpass_image` of an embedding (``x ⋆ φ_J`` brought back
to the image grid); PSNR by torchmetrics' ``PeakSignalNoiseRatio`` with data range 2 (images in [−1, 1]), in dB,
accumulated over all the images compared (one mean squared error, then ``10 log10(4 / MSE)``).
"""

from __future__ import annotations

import torch
from torchmetrics.image import PeakSignalNoiseRatio

from ..models.decoding import decode_batches

__all__ = ["lowpass_agreement"]


@torch.no_grad()
def lowpass_agreement(generator, x: torch.Tensor, samples: torch.Tensor) -> dict[str, float]:
    """Low-pass agreement in dB of coarse-grain samples with their conditions, beside the conditions' reconstructions.

    Args:
        generator: an encoder-decoder with ``encode``, ``decode`` and ``lowpass_image``
            (:class:`~gennet.models.SparseInverseGenerator`, :class:`~gennet.models.CNNGenerator`).
        x: the condition images ``(B, C, H, W)`` in [−1, 1], on the generator's device.
        samples: ``(B, S, C, H, W)`` images in [−1, 1] drawn given ``x``'s low-pass (same device).

    Returns:
        ``{"samples": PSNR of lowpass_image(Φ(samples)) vs lowpass_image(Φ(x)) over all B·S samples,
        "reconstructions": the same for G(Φ(x))}`` (floats, dB).
    """
    w = generator.encode(x)
    target = generator.lowpass_image(w).float().clamp(-1, 1)
    agreement = {"samples": PeakSignalNoiseRatio(data_range=2.0).to(x.device),
                 "reconstructions": PeakSignalNoiseRatio(data_range=2.0).to(x.device)}
    reconstructions = torch.cat(list(decode_batches(generator, w)))
    agreement["reconstructions"].update(generator.lowpass_image(generator.encode(reconstructions)).float(), target)
    for k in range(samples.shape[1]):
        agreement["samples"].update(generator.lowpass_image(generator.encode(samples[:, k])).float(), target)
    return {key: float(metric.compute()) for key, metric in agreement.items()}
