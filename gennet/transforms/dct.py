"""The orthonormal 2-D discrete cosine transform (DCT-II) of images, its inverse, and the frequency flip.

``C`` is the ``(n, n)`` orthonormal DCT-II matrix, ``C[k, i] = α_k cos(π (2i + 1) k / (2n))`` with
``α_0 = √(1/n)``, ``α_k = √(2/n)`` (Ahmed, Natarajan & Rao, "Discrete cosine transform", IEEE Trans. Computers
1974; ``scipy.fft.dctn(x, norm="ortho")``). On images ``(…, H, W)``: ``DCT(x) = C_H x C_Wᵀ``, inverse
``C_Hᵀ X C_W``. Row ``k`` of ``C`` is the ``k``-th cosine atom, so the DCT coefficients of index ``(k₁, k₂)``
are the image's components at vertical / horizontal frequency ``k₁/(2H)``, ``k₂/(2W)`` cycles per pixel.

The flip (Ortiz-Jiménez, Modas, Moosavi-Dezfooli & Frossard, "Hold me tight! Influence of discriminative
features on deep network boundaries", NeurIPS 2020, §3.2): ``flip(x) = IDCT(DCT(x)[…, ::-1, ::-1])`` swaps the
lowest and the highest frequencies. It is orthogonal and its own inverse.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

__all__ = ["dct_matrix", "dct2", "idct2", "dct_flip"]


@functools.lru_cache(maxsize=16)
def _dct_matrix64(n: int) -> Tensor:
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    matrix = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    matrix[0] /= math.sqrt(2)
    return matrix


def dct_matrix(n: int, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> Tensor:
    """The orthonormal DCT-II matrix ``(n, n)``: row ``k`` is the ``k``-th cosine atom (``C Cᵀ = I``).

    Raises:
        ValueError: ``n < 1``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return _dct_matrix64(int(n)).to(dtype=dtype, device=device)


def dct2(x: Tensor) -> Tensor:
    """Orthonormal 2-D DCT-II over the last two axes: ``(…, H, W)`` → ``(…, H, W)`` (same dtype)."""
    C_H = dct_matrix(x.shape[-2], x.dtype, x.device)
    C_W = dct_matrix(x.shape[-1], x.dtype, x.device)
    return C_H @ x @ C_W.T


def idct2(X: Tensor) -> Tensor:
    """Inverse of :func:`dct2` (the orthonormal DCT-III): ``(…, H, W)`` → ``(…, H, W)``."""
    C_H = dct_matrix(X.shape[-2], X.dtype, X.device)
    C_W = dct_matrix(X.shape[-1], X.dtype, X.device)
    return C_H.T @ X @ C_W


def dct_flip(x: Tensor) -> Tensor:
    """``IDCT(flip(DCT(x)))`` over the last two axes (Ortiz-Jiménez et al. 2020): the DCT coefficient ``(k₁, k₂)``
    moves to ``(H − 1 − k₁, W − 1 − k₂)``. Orthogonal and an involution: ``dct_flip(dct_flip(x)) = x``."""
    return idct2(dct2(x).flip(-2, -1))
