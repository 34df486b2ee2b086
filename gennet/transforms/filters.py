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

from ..limits import available_memory, format_bytes

__all__ = ["BYTES_PER_FILTER_VALUE", "FilterBank", "morlet_filter_bank", "gabor_2d", "periodize_fourier"]

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


# Periods whose Gaussian factor stays below e^-_NEGLIGIBLE_EXPONENT ≈ 1e-30 of the peak on the whole grid
# are skipped: their contribution is below float64 rounding of every filter value.
_NEGLIGIBLE_EXPONENT = 69.0

#: Bytes of memory that building one value of one filter takes at least (the periodized complex128 Gabor filter and
#: envelope, the Morlet filter and its DFT: 64 bytes; the measured peak is 70–83 bytes on 256² and 1024² grids).
BYTES_PER_FILTER_VALUE = 64


def _periodized_gabor_and_envelope(
    M: int, N: int, sigma: torch.Tensor, theta: torch.Tensor, xi: torch.Tensor, slant: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Un-normalized periodized Gabor filters and their Gaussian envelopes, ``(F, M, N)`` complex128 and float64.

    Over the period (e_x, e_y), with x = x₀ + e_x M, y = y₀ + e_y N, the Gabor filter is
    g(x, y)·e^{i k·(x₀, y₀)}·e^{i k·(e_x M, e_y N)}: the plane wave is one separable 1-D product times a
    constant phase per period, so only the real Gaussian g is evaluated on 2-D grids, and only over
    the periods where it is not negligible (min of the quadratic form ≥ λ_min·dist(0, period)²).
    """
    cos, sin = torch.cos(theta), torch.sin(theta)
    # Curvature R diag(1, slant²) R⁻¹ / (2σ²) of the Gaussian envelope, per filter.
    inv = 1.0 / (2.0 * sigma**2)
    c00 = (cos**2 + slant**2 * sin**2) * inv
    c01 = (cos * sin * (1.0 - slant**2)) * inv  # = c10
    c11 = (sin**2 + slant**2 * cos**2) * inv
    kx, ky = xi * cos, xi * sin
    lambda_min = min(1.0, slant**2) * inv  # smallest eigenvalue of the curvature
    x0 = torch.arange(M, dtype=torch.float64)
    y0 = torch.arange(N, dtype=torch.float64)
    n_filters = sigma.shape[0]
    envelope = torch.zeros(n_filters, M, N, dtype=torch.float64)
    weighted = torch.zeros(n_filters, M, N, dtype=torch.complex128)

    def distance(e: int, size: int) -> int:  # distance from 0 to the period [e·size, e·size + size − 1]
        return 0 if e == 0 else (e * size if e > 0 else -(e * size + size - 1))

    for ex in range(-2, 3):
        xx = x0 + ex * M
        for ey in range(-2, 3):
            yy = y0 + ey * N
            needed = lambda_min * (distance(ex, M) ** 2 + distance(ey, N) ** 2) < _NEGLIGIBLE_EXPONENT
            idx = needed.nonzero()[:, 0]
            if idx.numel() == 0:
                continue
            a, b, c = c00[idx, None], c01[idx, None, None], c11[idx, None]
            quad = (a * xx**2)[:, :, None] + (c * yy**2)[:, None, :]
            quad.addcmul_(2 * b * xx[None, :, None], yy[None, None, :])
            gauss = torch.exp(quad.neg_())
            phase = torch.exp(1j * (kx[idx] * ex * M + ky[idx] * ey * N))[:, None, None]
            if idx.numel() == n_filters:
                envelope += gauss
                weighted += gauss * phase
            else:
                envelope.index_add_(0, idx, gauss)
                weighted.index_add_(0, idx, gauss * phase)
    plane = torch.exp(1j * kx[:, None] * x0)[:, :, None] * torch.exp(1j * ky[:, None] * y0)[:, None, :]
    return weighted * plane, envelope


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
        ``(F, M, N)`` complex128 spatial filters, summed over 5 × 5 periods as in kymatio's ``gabor_2d``
        (periods where the envelope is below 1e-30 of its peak contribute nothing in float64 and are skipped).
    """
    gabor, _ = _periodized_gabor_and_envelope(M, N, sigma, theta, xi, slant)
    return gabor / (2 * _KYMATIO_PI * sigma**2 / slant)[:, None, None]


@lru_cache(maxsize=16)
def _filter_bank_cached(M: int, N: int, J: int, L: int) -> FilterBank:
    j = torch.arange(J, dtype=torch.float64).repeat_interleave(L)
    ell = torch.arange(L, dtype=torch.float64).repeat(J)
    sigma = 0.8 * 2.0**j
    theta = (int(L - L / 2 - 1) - ell) * math.pi / L
    xi = 3.0 / 4.0 * math.pi / 2.0**j
    slant = 4.0 / L
    # Morlet = Gabor − β·envelope, with β cancelling the mean (kymatio's morlet_2d); the normalization
    # 2·π·σ²/slant of both cancels in β and is applied once.
    gabor, envelope = _periodized_gabor_and_envelope(M, N, sigma, theta, xi, slant)
    beta = gabor.sum(dim=(-2, -1)) / envelope.sum(dim=(-2, -1))
    morlet = (gabor - beta[:, None, None] * envelope) / (2 * _KYMATIO_PI * sigma**2 / slant)[:, None, None]
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
        ValueError: if a size is not positive, or if building the bank would need more memory than this machine has
            free (:data:`BYTES_PER_FILTER_VALUE` per value of the ``J·L + 1`` filters, a lower bound of the measured
            peak: 70–83 bytes), checked before anything is allocated: sizes come from configs and checkpoints.

    Source: kymatio 0.3.0 ``scattering2d/filter_bank.py`` (same parameters and periodization; our own
    vectorized implementation).
    """
    if M < 1 or N < 1 or J < 1 or L < 1:
        raise ValueError(f"morlet_filter_bank needs M, N, J, L ≥ 1, got M={M}, N={N}, J={J}, L={L}")
    needed = BYTES_PER_FILTER_VALUE * (J * L + 1) * M * N
    free = available_memory()
    if free is not None and needed > free:
        raise ValueError(f"a Morlet filter bank of {M}x{N} pixels, J={J}, L={L} would need {format_bytes(needed)} of "
                         f"memory, more than the {format_bytes(free)} free here")
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
