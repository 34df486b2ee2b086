"""The wavelet frame behind ``U`` (DESIGN §2): the layout of its coefficients, the image sizes it accepts, and the
inverse of its frame operator ``T*T`` (the dual frame that makes ``U⁻¹`` exact).

Source: S. Mallat, *A Wavelet Tour of Signal Processing* (3rd ed.), §5.1 (frames, dual frame ``(T*T)⁻¹T*``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import torch

from .filters import morlet_filter_bank
from .fourier import negate_frequency

__all__ = ["WaveletCoefficients", "check_image_shape", "dual_operator", "from_classes", "to_classes"]


class WaveletCoefficients(NamedTuple):
    """Coefficients of ``U x``, each at its own resolution.

    Attributes:
        lowpass: ``(B, C, H/2^J, W/2^J)``, ``x ⋆ φ_J`` subsampled by ``2^J``.
        bands: ``J`` tensors; band ``j`` is ``(B, C, L, A, H/2^j, W/2^j)`` holding
            ``ρ(x ⋆ ψ_{j,θ,a})`` subsampled by ``2^j`` (orientation θ, phase α_a = 2πa/A).
    """

    lowpass: torch.Tensor
    bands: tuple[torch.Tensor, ...]


def check_image_shape(shape: tuple[int, int], J: int) -> tuple[int, int]:
    """Validate ``(H, W)`` against ``J``: ``2**J ≤ min(H, W)`` and ``2**J`` divides ``H`` and ``W``.

    Raises:
        ValueError: naming ``J`` and the shape when they do not fit.
    """
    if len(shape) != 2:
        raise ValueError(f"shape must be (H, W), got {tuple(shape)}")
    H, W = int(shape[0]), int(shape[1])
    if J < 1:
        raise ValueError(f"J must be ≥ 1, got J={J}")
    if 2**J > min(H, W):
        raise ValueError(f"J={J} is too large for images of size {H}×{W}: need 2**J = {2**J} ≤ min(H, W) = {min(H, W)}")
    if H % 2**J or W % 2**J:
        raise ValueError(
            f"image size {H}×{W} must be divisible by 2**J = {2**J} (J={J}); resize or crop the images"
        )
    return H, W


def to_classes(f: torch.Tensor, s: int) -> torch.Tensor:
    """``(..., H, W) → (..., h·w, s²)``: group DFT bins ω = ω₀ + p·(h, w) by alias class ω₀ (h = H/s)."""
    H, W = f.shape[-2:]
    h, w = H // s, W // s
    f = f.reshape(*f.shape[:-2], s, h, s, w).movedim(-3, -2)  # (..., s, s, h, w)
    return f.reshape(*f.shape[:-4], s * s, h * w).transpose(-1, -2)


def from_classes(f: torch.Tensor, s: int, H: int, W: int) -> torch.Tensor:
    """Inverse of :func:`to_classes`."""
    h, w = H // s, W // s
    f = f.transpose(-1, -2).reshape(*f.shape[:-2], s, s, h, w).movedim(-2, -3)
    return f.reshape(*f.shape[:-4], H, W)


@lru_cache(maxsize=8)
def dual_operator(H: int, W: int, J: int, L: int) -> torch.Tensor:
    """Inverse of the frame operator ``T*T``, block-diagonal over the alias classes of the 2^J grid.

    ``T x = (S_{2^J}(φ ⋆ x), S_{2^j}(ψ_{j,θ} ⋆ x))`` with ``S_s`` the subsampling by ``s``. For real x,
    ``T*T`` is the complex-linear operator whose DFT couples a frequency ω only with the frequencies
    ω + 2π q / 2^j that subsampling aliases onto it — all in the class of ω modulo (H/2^J, W/2^J):

        G(ω₀)[p, p'] = 4^-J φ̂(ω_p) φ̂(ω_p')
                     + Σ_j 4^-j [p ≡ p' mod 2^(J−j)] · ½ Σ_θ ( ψ̂_{j,θ}(ω_p) ψ̂_{j,θ}(ω_p') + ψ̂_{j,θ}(−ω_p) ψ̂_{j,θ}(−ω_p') )

    (the ψ̂(−ω) terms come from the real part taken by the adjoint of a complex filter on real
    signals). The filters are real in Fourier, so each block is real symmetric positive definite.

    Returns:
        ``(h·w, 4^J, 4^J)`` float64: the inverse blocks ``G(ω₀)⁻¹``.
    """
    bank = morlet_filter_bank(H, W, J, L)
    s = 2**J
    phi = to_classes(bank.phi, s)  # (n, s²)
    gram = phi[:, :, None] * phi[:, None, :] / 4**J
    p = torch.arange(s)
    for j in range(J):
        m = 2 ** (J - j)
        same_x = (p[:, None] % m) == (p[None, :] % m)
        same = (same_x[:, None, :, None] & same_x[None, :, None, :]).reshape(s * s, s * s)
        psi = torch.cat([bank.psi[j], negate_frequency(bank.psi[j])])  # (2L, H, W)
        psi = to_classes(psi, s)  # (2L, n, s²)
        gram += torch.einsum("tnp,tnq->npq", psi, psi) * same / (2 * 4**j)
    # Cholesky, not LU: the blocks are SPD, and torch's batched LU on CPU runs LAPACK getrf from several
    # threads at once for blocks larger than 14×14, which MKL's row swaps do not survive (wrong inverses
    # and "Parameter 6 was incorrect on entry to DLASWP"; pytorch/pytorch#181570).
    return torch.cholesky_inverse(torch.linalg.cholesky(gram))
