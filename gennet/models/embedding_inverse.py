"""What every generator of gennet shares: the fixed embedding ``w = Φ(x)`` it inverts, and the low-pass baseline."""

from __future__ import annotations

import torch
from torch import nn

from ..transforms.embedding import Embedding2D

__all__ = ["EmbeddingInverse"]


class EmbeddingInverse(nn.Module):
    """Base of the decoders ``G`` with ``G(Φ(x)) ≈ x`` for the fixed ``Φ = L∘U`` (DESIGN §3, §6).

    Subclasses implement ``decode(w, return_stats=False)`` (and, if their weights need a projection after each
    optimizer step, ``after_optimizer_step_``); this class provides ``encode``, ``forward`` and ``lowpass_image``. Shapes: ``x: (B, C, H, W)``; ``w: (B, C·(1+J·L·A), H/2^J, W/2^J)``.

    Args:
        shape: ``(H, W)`` in pixels, divisible by ``2**J``. channels: ``C``. J, L, A: of the embedding.

    Raises:
        ValueError: from :class:`~gennet.transforms.Embedding2D` (``J`` too large, odd ``A``, …); from
            :meth:`encode`, images of the wrong shape.
    """

    def __init__(self, shape: tuple[int, int], channels: int, J: int, L: int = 8, A: int = 4) -> None:
        super().__init__()
        self.embedding = Embedding2D(shape, J, L, A)
        self.channels = int(channels)

    @property
    def rectified(self):
        return self.embedding.rectified

    @property
    def lowpass(self):
        return self.embedding.lowpass

    @property
    def embedding_shape(self) -> tuple[int, int, int]:
        """``(C·(1+J·L·A), H/2^J, W/2^J)``: the shape of one ``w``."""
        return (self.channels * self.lowpass.channels_per_input, *self.rectified.coarse_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``w = Φ(x)``: ``(B, C, H, W) → (B, C·(1+J·L·A), H/2^J, W/2^J)``."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected images (B, {self.channels}, H, W), got {tuple(x.shape)}")
        return self.embedding(x)

    def decode(self, w: torch.Tensor, return_stats: bool = False):
        raise NotImplementedError

    def after_optimizer_step_(self) -> None:
        """What the decoder does after every optimizer step (a projection of its weights); nothing here."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``G(Φ(x))``: ``(B, C, H, W) → (B, C, H, W)``."""
        return self.decode(self.encode(x))

    def lowpass_image(self, w: torch.Tensor) -> torch.Tensor:
        """Baseline: the image seen by the low-pass channel of ``w`` alone (upsampled ``x ⋆ φ_J``), ``(B, C, H, W)``."""
        B, _, h, wdt = w.shape
        lowpass = w.reshape(B, self.channels, self.lowpass.channels_per_input, h, wdt)[:, :, 0]
        return self.rectified.upsample_lowpass(lowpass)
