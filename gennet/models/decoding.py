"""Decoding many embeddings in batches: ``G(w)`` for ``w: (N, C_w, h, w)``, a batch at a time, as images in [−1, 1]."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["decode_batches"]


@torch.no_grad()
def decode_batches(generator: nn.Module, w: torch.Tensor, batch_size: int = 64) -> Iterator[torch.Tensor]:
    """``generator.decode(w)`` in batches of ``batch_size``, clamped to [−1, 1].

    Args:
        generator: a decoder with ``decode(w) -> (b, C, H, W)`` (:class:`~gennet.models.SparseInverseGenerator`,
            :class:`~gennet.models.CNNGenerator`).
        w: embeddings ``(N, C_w, h, w)`` on the generator's device.

    Yields:
        ``(b, C, H, W)`` float32 images on ``w``'s device, ``b ≤ batch_size``, in the order of ``w``.
    """
    for start in range(0, w.shape[0], batch_size):
        yield generator.decode(w[start : start + batch_size]).float().clamp(-1, 1)
