"""A decoder trained for a prior's errors: embeddings mixed with another image's during training (issue 31, lever 1).

A prior over ``w = Φ(x)`` draws points near, not on, the embeddings of real images; the sparse decoder's Lasso codes a
near-miss with a few wrong atoms (broken strokes), where a decoder trained only on exact embeddings was never asked
what to do with it. Training on

    w̃_i = w_i + t_i (w_π(i) − w_i),      t_i ~ U[0, strength],   π a random permutation of the batch,

against the target ``x_i`` asks ``G(w̃_i) ≈ x_i``: a displacement in the directions in which embeddings of images
differ (the data's own covariance, ``E[(w_π − w)(w_π − w)ᵀ] = 2Σ`` for independent draws: the shape of a prior's
error, which lives in the same principal directions) is forgiven. The size: ``strength = 0.3`` moves an embedding by 0.15 of its distance to the other image on average.
Measured on the digits (``benchmarks/sample_quality.py``, README "The sparse decoder as the better generator"): the
default run trained from the start with it loses 0.44 dB of test PSNR (26.33 → 25.89 dB, 0.186 → 0.167 nonzeros per
pixel) and the flow priors' draws decode better (Fréchet distance 1.39 → 1.18 at d = 128, 1.62 → 1.33 at d = 256);
embedding noise shaped like the data's principal directions (30% of their spread, bands only) decodes to 0.34 instead
of 0.54. Three epochs of fine-tuning a trained decoder with it cost nothing (26.36 → 26.38 dB; d = 256 draws 1.60 →
1.17); ``strength = 0.6`` costs 0.4 dB on fine-tuning.

Source: the idea of training a denoising decoder on perturbed inputs (Vincent et al., ICML 2008); between-sample
interpolation of inputs (mixup, Zhang et al., ICLR 2018), here with the target of the first image only.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["mix_embeddings"]


def mix_embeddings(w: Tensor, strength: float, generator: torch.Generator | None = None) -> Tensor:
    """``w_i + t_i (w_π(i) − w_i)`` for a batch of embeddings ``w: (B, C_w, h, w)`` (module docstring).

    ``t_i ~ U[0, strength]`` and the permutation ``π`` are drawn from ``generator`` on ``w``'s device (the global
    generator when ``None``). ``strength = 0`` returns ``w`` itself. Same shape and dtype as ``w``.

    Raises:
        ValueError: ``strength`` outside ``[0, 1]``, or ``w`` without a batch dimension.
    """
    if not 0 <= strength <= 1:
        raise ValueError(f"embedding_mix (the mixing strength) must be in [0, 1], got {strength}")
    if w.dim() < 2:
        raise ValueError(f"expected a batch of embeddings (B, C_w, h, w), got {tuple(w.shape)}")
    if strength == 0 or w.shape[0] < 2:
        return w
    B = w.shape[0]
    order = torch.randperm(B, device=w.device, generator=generator)
    t = strength * torch.rand(B, device=w.device, generator=generator, dtype=w.dtype).view(B, *([1] * (w.dim() - 1)))
    return w + t * (w[order] - w)
