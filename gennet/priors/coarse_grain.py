"""Coarse-grain sampling (seed 001 "Coarse grain model"; DESIGN §6b): a prior's conditional sampling given the
low-pass channels of an image's embedding, decoded.

For each image ``x``: keep the low-pass channel(s) of ``w = Φ(x)`` (``x ⋆ φ_J`` on the coarse grid, channel 0 of each
image channel's block, the layout :meth:`~gennet.models.EmbeddingInverse.lowpass_image` reads), draw the other
channels from the prior of ``w`` conditioned on them (the Gaussian model:
:class:`~gennet.priors.ConditionalGaussianEmbedding`; a flow prior trained with its low-pass channels:
:class:`~gennet.priors.ConditionalFlowSampler`), and decode — images that share the coarse structure and differ in
detail. How well the decoder keeps that structure: :func:`gennet.metrics.lowpass_agreement.lowpass_agreement`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..models.decoding import decode_batches
from .prior import Prior

__all__ = ["lowpass_channels", "coarse_grain"]


def lowpass_channels(embedding_shape: Sequence[int], image_channels: int) -> list[int]:
    """The channels of ``w: (C_w, h, w)`` that hold the low-pass ``x ⋆ φ_J``: channel 0 of each of the
    ``image_channels`` blocks of ``C_w / image_channels`` channels (:meth:`EmbeddingInverse.lowpass_image`'s layout)."""
    per_image_channel = int(embedding_shape[0]) // image_channels
    return [c * per_image_channel for c in range(image_channels)]


@torch.no_grad()
def coarse_grain(
    generator,
    prior: Prior,
    x: torch.Tensor,
    samples_per_condition: int,
    seed: int = 0,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Coarse-grain samples of the images ``x: (B, C, H, W)`` in [−1, 1] (on the generator's device).

    Args:
        generator: an encoder-decoder with ``encode``, ``decode`` and ``lowpass_image``
            (:class:`~gennet.models.SparseInverseGenerator`, :class:`~gennet.models.CNNGenerator`).
        prior: a prior of the generator's embedding that can be conditioned (``prior.supports_condition``).
        samples_per_condition: ``S``, the samples drawn per image.
        seed, temperature: the draws' random generator seed and temperature.

    Returns:
        The rows ``(B, 2 + S, C, H, W)`` float32 in [−1, 1] on ``x``'s device: the image, its low-pass image
        ``lowpass_image(Φ(x))``, then the ``S`` samples ``G(w)`` decoded in batches of 64.
    """
    w = generator.encode(x)
    conditional = prior.condition(lowpass_channels(w.shape[1:], x.shape[1]))
    draws = conditional.sample(w, samples_per_condition, generator=torch.Generator().manual_seed(seed), temperature=temperature)
    samples = torch.cat(list(decode_batches(generator, draws.flatten(0, 1)))).unflatten(0, draws.shape[:2])
    lowpass = generator.lowpass_image(w).float().clamp(-1, 1)
    return torch.cat([x.unsqueeze(1), lowpass.unsqueeze(1), samples], 1)
