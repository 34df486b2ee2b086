"""The phase rectifier ``ρ(Re(e^{-iα_a} c)) = ρ(cos α_a · Re c + sin α_a · Im c)`` of complex wavelet coefficients (DESIGN §2)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["phase_angles", "rectify_phases", "rectify_phase_factors"]


def phase_angles(A: int, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cos α_a, sin α_a)`` for ``α_a = 2πa/A``, ``a = 0..A−1``: two ``(A,)`` tensors of ``dtype``."""
    alpha = 2 * math.pi * torch.arange(A, dtype=torch.float64) / A
    return torch.cos(alpha).to(dtype), torch.sin(alpha).to(dtype)


def rectify_phases(c: torch.Tensor, cos_alpha: torch.Tensor, sin_alpha: torch.Tensor) -> torch.Tensor:
    """``ρ(cos α_a · Re c + sin α_a · Im c)`` for every phase: complex ``(..., h, w)`` → real ``(..., A, h, w)``.

    ``ρ(t) = max(t, 0)``; ``cos_alpha`` and ``sin_alpha`` are ``(A,)`` (see :func:`phase_angles`) or ``(A, 1, 1)``,
    cast to the real dtype of ``c``. The phases ``α`` and ``α + π`` give ``ρ(t) − ρ(−t) = t``, so for even ``A ≥ 4`` the complex ``c``
    is a linear function of the output: ``c = (4/A) Σ_a e^{iα_a} ρ_a`` (DESIGN §2). Differentiable (ReLU's
    derivative, 0 at 0).

    Source: S. Mallat, lecture "Interpretable deep neural networks" (seed 001): rectifiers act on the phase;
    Zarka, Thiry, Angles & Mallat, ICLR 2020 (phase scattering).
    """
    real = c.real.unsqueeze(-3)
    imag = c.imag.unsqueeze(-3)
    return F.relu(torch.addcmul(_phase_column(cos_alpha, real.dtype) * real, _phase_column(sin_alpha, real.dtype), imag))


def rectify_phase_factors(c: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """:func:`rectify_phases` written as ``ρ(Re(e^{-iα_a} c))``: one complex product with the factors ``e^{-iα_a}``
    (``(A, 1, 1)`` complex, ``c``'s complex dtype), a real part and a ReLU — fewer operators (the GPU paths), the same
    values up to rounding. Complex ``(..., h, w)`` → real ``(..., A, h, w)``."""
    return F.relu(torch.mul(c.unsqueeze(-3), factors).real)


def _phase_column(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``(A,)`` or ``(A, 1, 1)`` → ``(A, 1, 1)`` in ``dtype`` (no operator when it already is: the GPU paths pass
    prepared tensors)."""
    if t.dtype != dtype:
        t = t.to(dtype)
    return t if t.dim() == 3 else t.view(-1, 1, 1)
