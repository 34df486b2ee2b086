"""The CNN decoder of Angles & Mallat (ICLR 2018): the baseline the sparse-inverse generator replaces (DESIGN §6)."""

from __future__ import annotations

import torch
from torch import nn

from .generator import EmbeddingInverse
from .standardization import Standardization

__all__ = ["CNNGenerator"]


def _block(c_in: int, c_out: int) -> nn.Sequential:
    """×2 bilinear upsampling, 3×3 convolution (reflection padding), BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect", bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class CNNGenerator(EmbeddingInverse):
    """``G(w)``: a convolutional network from ``w = Φ(x)`` on the ``2^J`` grid back to the image.

    ``w`` → PCA whitening of its channels (``whiten``, train-set statistics: call ``whitening.update_``
    on embeddings first; identity until then) → 3×3 conv to ``width`` channels → ``J`` blocks of
    (×2 bilinear upsampling, 3×3 conv, BatchNorm, ReLU), halving the width each time (at least
    ``min_width``) → 3×3 conv to ``C`` channels → ``tanh`` (images in [−1, 1]). A black box: nothing in it
    is a dictionary or a sparse code; it is the point of comparison for
    :class:`~gennet.models.SparseInverseGenerator` on the same ``Φ``.

    Source: T. Angles, S. Mallat, "Generative networks as inverse problems with scattering transforms",
    ICLR 2018, §3 (whitened scattering embedding, upsampling + conv + BN + ReLU stages, DCGAN-like widths).

    Args:
        shape: ``(H, W)`` in pixels. channels: ``C``. J, L, A: of the embedding.
        width: channels after the first convolution. min_width: floor of the halving.
        whiten: PCA-whiten the channels of ``w`` (Angles & Mallat) instead of passing them raw.

    Raises:
        ValueError: from the embedding; ``width`` or ``min_width`` < 1.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        channels: int,
        J: int,
        L: int = 8,
        A: int = 4,
        width: int = 256,
        min_width: int = 32,
        whiten: bool = True,
    ) -> None:
        super().__init__(shape, channels, J, L, A)
        if width < 1 or min_width < 1:
            raise ValueError(f"width and min_width must be >= 1, got {width}, {min_width}")
        c_w = self.embedding_shape[0]
        self.whitening = Standardization(c_w, whiten=True) if whiten else None
        widths = [max(width // 2**k, min_width) for k in range(J + 1)]
        self.net = nn.Sequential(
            nn.Conv2d(c_w, widths[0], 3, padding=1, padding_mode="reflect"),
            *(_block(widths[k], widths[k + 1]) for k in range(J)),
            nn.Conv2d(widths[-1], channels, 3, padding=1, padding_mode="reflect"),
            nn.Tanh(),
        )

    def decode(self, w: torch.Tensor, return_stats: bool = False):
        """``(B, C_w, H/2^J, W/2^J) → (B, C, H, W)``; ``return_stats`` gives ``None`` (no sparse code)."""
        x = self.net(self.whitening(w) if self.whitening is not None else w)
        return (x, None) if return_stats else x
