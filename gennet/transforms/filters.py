"""Morlet filter bank in the Fourier domain, with kymatio's parameters.

The wavelets are complex Morlet filters (Bruna & Mallat, "Invariant Scattering Convolution Networks",
IEEE TPAMI 2013, §3; kymatio: Andreux et al., JMLR 2020) with the parameters of kymatio 0.3.0's
``filter_bank``, so that outputs can be compared with kymatio numerically (DESIGN §1):

    ψ_{j,θ}:  σ = 0.8·2^j,  ξ = 3π/4 · 2^-j,  slant = 4/L,  angle θ_ℓ = (⌊L/2⌋ − 1 − ℓ)·π/L,
    φ_J:      Gaussian with σ = 0.8·2^(J−1).

Filters are built in the spatial domain on an ``M × N`` grid, periodized over 5×5 periods, Fourier
transformed, and their (negligible) imaginary part dropped, as kymatio does; everything is computed
vectorized in float64 torch and cached per ``(M, N, J, L)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

__all__ = ["FilterBank", "morlet_filter_bank", "gabor_2d", "periodize_fourier"]

# kymatio normalizes its Gabor filters by 2·3.1415·σ²/slant (sic: 3.1415, not π). We keep the constant
# so that wavelet amplitudes — hence scattering values — agree with kymatio's to float precision.
_KYMATIO_PI = 3.1415


@dataclass(frozen=True)
class FilterBank:
    """Fourier transforms of the Morlet wavelets and of the low-pass filter.

    Attributes:
        psi: ``(J, L, M, N)`` float64, real-valued ψ̂_{j,θ}(ω) on the DFT grid (bin (0, 0) = frequency 0).
        phi: ``(M, N)`` float64, real-valued φ̂_J(ω), with φ̂_J(0) = 1 up to the periodization.
        J, L: number of scales and orientations.
    """

    psi: torch.Tensor
    phi: torch.Tensor
    J: int
    L: int


def gabor_2d(
    M: int, N: int, sigma: torch.Tensor, theta: torch.Tensor, xi: torch.Tensor, slant: float = 1.0
) -> torch.Tensor:
    """Periodized 2-D Gabor filters ``g_σ(u) e^{i ξ·u}`` on an ``M × N`` grid, batched over filters.

    Args:
        M, N: grid size (pixels).
        sigma, theta, xi: ``(F,)`` float64 tensors: envelope width (pixels), orientation (radians) and
            central frequency (radians / pixel) of each of the F filters.
        slant: ratio of the envelope's widths across / along the orientation (kymatio's ``slant``).

    Returns:
        ``(F, M, N)`` complex128 spatial filters, summed over 5 × 5 periods as in kymatio's ``gabor_2d``.
    """
    cos, sin = torch.cos(theta), torch.sin(theta)
    # Curvature R diag(1, slant²) R⁻¹ / (2σ²) of the Gaussian envelope, per filter.
    inv = 1.0 / (2.0 * sigma**2)
    c00 = (cos**2 + slant**2 * sin**2) * inv
    c01 = (cos * sin * (1.0 - slant**2)) * inv  # = c10
    c11 = (sin**2 + slant**2 * cos**2) * inv
    kx, ky = (xi * cos)[:, None, None], (xi * sin)[:, None, None]
    c00, c01, c11 = c00[:, None, None], c01[:, None, None], c11[:, None, None]
    out = torch.zeros(sigma.shape[0], M, N, dtype=torch.complex128)
    base_x = torch.arange(M, dtype=torch.float64)[:, None]
    base_y = torch.arange(N, dtype=torch.float64)[None, :]
    for ex in range(-2, 3):
        xx = base_x + ex * M
        for ey in range(-2, 3):
            yy = base_y + ey * N
            out += torch.exp(torch.complex(-(c00 * xx**2 + 2 * c01 * xx * yy + c11 * yy**2), kx * xx + ky * yy))
    return out / (2 * _KYMATIO_PI * sigma**2 / slant)[:, None, None]


@lru_cache(maxsize=16)
def _filter_bank_cached(M: int, N: int, J: int, L: int) -> FilterBank:
    j = torch.arange(J, dtype=torch.float64).repeat_interleave(L)
    ell = torch.arange(L, dtype=torch.float64).repeat(J)
    sigma = 0.8 * 2.0**j
    theta = (int(L - L / 2 - 1) - ell) * math.pi / L
    xi = 3.0 / 4.0 * math.pi / 2.0**j
    slant = 4.0 / L
    gabor = gabor_2d(M, N, sigma, theta, xi, slant)
    envelope = gabor_2d(M, N, sigma, theta, torch.zeros_like(xi), slant)
    # Morlet = Gabor − β·envelope, with β cancelling the mean (kymatio's morlet_2d).
    beta = gabor.sum(dim=(-2, -1)) / envelope.sum(dim=(-2, -1))
    morlet = gabor - beta[:, None, None] * envelope
    psi = torch.fft.fft2(morlet).real.reshape(J, L, M, N)
    one = torch.ones(1, dtype=torch.float64)
    phi = torch.fft.fft2(gabor_2d(M, N, 0.8 * 2.0 ** (J - 1) * one, 0 * one, 0 * one, 1.0)).real[0]
    return FilterBank(psi=psi, phi=phi, J=J, L=L)


def morlet_filter_bank(M: int, N: int, J: int, L: int = 8) -> FilterBank:
    """Morlet wavelets ψ̂_{j,θ} (j < J, θ = θ_0..θ_{L−1}) and low-pass φ̂_J on an ``M × N`` DFT grid.

    The result is cached: repeated calls with the same arguments return the same (read-only) tensors.

    Args:
        M, N: grid size in pixels (the padded size when the caller pads).
        J: number of scales, ``J ≥ 1``.
        L: number of orientations, ``L ≥ 1``.

    Returns:
        A :class:`FilterBank` of float64 CPU tensors.

    Raises:
        ValueError: if a size is not positive.

    Source: kymatio 0.3.0 ``scattering2d/filter_bank.py`` (same parameters and periodization; our own
    vectorized implementation).
    """
    if M < 1 or N < 1 or J < 1 or L < 1:
        raise ValueError(f"morlet_filter_bank needs M, N, J, L ≥ 1, got M={M}, N={N}, J={J}, L={L}")
    return _filter_bank_cached(int(M), int(N), int(J), int(L))


def periodize_fourier(filter_hat: torch.Tensor, res: int) -> torch.Tensor:
    """A Fourier-domain filter at resolution 2^-res: mask the band kymatio masks, then sum aliases.

    Multiplying a signal subsampled by ``2**res`` with the result is the same as filtering the
    full-resolution signal with (a band-limited copy of) ``filter_hat`` and subsampling. This follows
    kymatio's ``periodize_filter_fft`` exactly (including its mask of the central band), which keeps
    second-layer filters and low-pass levels identical to kymatio's.

    Args:
        filter_hat: ``(..., M, N)`` real or complex filter on the DFT grid; ``M, N`` divisible by ``2**res``.
        res: resolution index, ``res ≥ 0``.

    Returns:
        ``(..., M / 2**res, N / 2**res)`` tensor of the same dtype.
    """
    if res == 0:
        return filter_hat
    M, N = filter_hat.shape[-2:]
    s = 2**res
    mask_x = torch.ones(M, dtype=torch.bool)
    mask_y = torch.ones(N, dtype=torch.bool)
    start_x, len_x = int(M * 2 ** (-res - 1)), int(M * (1 - 2 ** (-res)))
    start_y, len_y = int(N * 2 ** (-res - 1)), int(N * (1 - 2 ** (-res)))
    mask_x[start_x : start_x + len_x] = False
    mask_y[start_y : start_y + len_y] = False
    mask = (mask_x[:, None] & mask_y[None, :]).to(device=filter_hat.device)
    masked = filter_hat * mask
    return masked.reshape(*filter_hat.shape[:-2], s, M // s, s, N // s).sum(dim=(-4, -2))
