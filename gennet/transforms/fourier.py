"""Discrete-Fourier helpers shared by the transforms (subsampling, upsampling, symmetries)."""

from __future__ import annotations

import math

import torch

__all__ = ["alias_mean", "tile", "negate_frequency", "fft2_real", "alias_blocks", "subsampled_spectrum", "filter_subsampled"]


def alias_mean(spectrum: torch.Tensor, s: int) -> torch.Tensor:
    """DFT of the signal subsampled by ``s``: mean of the ``s²`` aliases, ``(..., H, W) → (..., H/s, W/s)``."""
    if s == 1:
        return spectrum
    H, W = spectrum.shape[-2:]
    return spectrum.reshape(*spectrum.shape[:-2], s, H // s, s, W // s).mean(dim=(-4, -2))


def tile(spectrum: torch.Tensor, s: int) -> torch.Tensor:
    """DFT of the zero-inserted upsampling by ``s`` (adjoint of subsampling): tile the spectrum ``s × s``."""
    return spectrum if s == 1 else spectrum.repeat(*([1] * (spectrum.dim() - 2)), s, s)


def negate_frequency(f: torch.Tensor) -> torch.Tensor:
    """``f(−ω)`` on the DFT grid."""
    return torch.roll(torch.flip(f, dims=(-2, -1)), shifts=(1, 1), dims=(-2, -1))


def fft2_real(u: torch.Tensor) -> torch.Tensor:
    """``fft2`` of a real ``(..., M, N)`` tensor from ``rfft2`` and Hermitian symmetry (X[-k, -n] = conj X[k, n]),
    several times faster than ``fft2`` on CPU."""
    half = torch.fft.rfft2(u)
    N = u.shape[-1]
    mirrored = half[..., 1 : (N + 1) // 2].flip(-2, -1).roll(1, -2).conj()  # columns N//2+1 .. N−1
    return torch.cat([half, mirrored], dim=-1)


def alias_blocks(filter_hat: torch.Tensor, s: int) -> torch.Tensor:
    """Real ``filter_hat`` ``(L, M, N)`` cut into its ``s²`` alias blocks, ``(s², L, M/s, 2N/s)``, divided by ``s²``,
    each value repeated twice to multiply interleaved (real, imaginary) pairs (see :func:`filter_subsampled`)."""
    L, M, N = filter_hat.shape
    blocks = filter_hat.reshape(L, s, M // s, s, N // s).permute(1, 3, 0, 2, 4).reshape(s * s, L, M // s, N // s)
    return (blocks.repeat_interleave(2, dim=-1) / s**2).contiguous()


def subsampled_spectrum(spectrum: torch.Tensor, blocks: torch.Tensor) -> torch.Tensor:
    """DFT of ``u ⋆ ψ`` subsampled by ``s``: ``spectrum`` ``(..., 1, M, N)`` complex (the DFT of ``u``), ``blocks`` from
    :func:`alias_blocks` ``(s², L, M/s, 2N/s)`` → complex ``(..., L, M/s, N/s)``.

    Subsampling averages the ``s²`` aliases of ``spectrum · ψ̂``; each alias block is multiplied and
    accumulated in one pass over interleaved real views (``addcmul_``): the full-size product never exists.
    Differentiable.
    """
    n_blocks, _, h, w2 = blocks.shape
    s = math.isqrt(n_blocks)
    u = torch.view_as_real(spectrum).flatten(-2)  # (..., 1, M, 2N)
    out = u[..., :h, :w2] * blocks[0]
    for a in range(s):
        for b in range(s):
            if a or b:
                out.addcmul_(u[..., a * h : (a + 1) * h, b * w2 : (b + 1) * w2], blocks[a * s + b])
    return torch.view_as_complex(out.unflatten(-1, (-1, 2)))


def filter_subsampled(spectrum: torch.Tensor, blocks: torch.Tensor) -> torch.Tensor:
    """``u ⋆ ψ`` subsampled by ``s`` (the inverse DFT of :func:`subsampled_spectrum`), complex ``(..., L, M/s, N/s)``."""
    return torch.fft.ifft2(subsampled_spectrum(spectrum, blocks))
