"""Filtering then subsampling in the Fourier domain, restricted to each filter's support: one gather and one batched
matrix product for a whole bank of filters (the GPU path of the scattering and of the rectified transform).

Filtering ``u`` (``M × N``) by ``ψ̂`` and subsampling by ``s`` is, in the Fourier domain, the mean of the ``s²`` alias
blocks (each ``M/s × N/s``) of the product ``û ψ̂``. A Morlet filter lives in a few of these blocks: outside them
it is below ``tolerance`` of its peak (≤ 1e-8 by default, below float32's resolution, so the result is the exact
periodization to rounding). :func:`support_plan` lists, for a bank of ``T`` filters, the union of the blocks where
one of them lives (``K`` of the ``s²``) and :func:`filter_subsample` computes

    out[r, t, ω] = (1/s²) Σ_{k < K} ψ̂_t(ω + b_k) û_r(ω + b_k)        (ω on the ``M/s × N/s`` grid)

as ONE gather of the needed values of ``û`` (``(R, P·K)``, never the full ``R × T × M × N`` product) and ONE
batched matrix product over the ``P = MN/s²`` output frequencies, ``(R × 2K) @ (2K × 2T)`` per frequency, the
(real, imaginary) pairs of ``û`` multiplying a block-diagonal real matrix. For a real ``u`` the gather reads the
half spectrum of ``rfft2`` and takes ``û(−ω) = conj û(ω)`` through the sign of the imaginary rows of the matrix.

Cost per call: reads ``R·P·K`` complex values, writes ``R·T·P`` complex values (and their transposition to the
batch-major layout the inverse FFT wants); ``2·R·P·2K·2T`` flops. Memory of a plan: ``P·2K·2T`` reals.
"""

from __future__ import annotations

import torch

__all__ = ["support_plan", "filter_subsample", "filter_upsample", "exact_tolerance"]


def exact_tolerance(dtype: torch.dtype) -> float:
    """The default block tolerance for computations in ``dtype``: 1e-8 for float32 (the dropped terms are below its
    relative resolution 6e-8, so the result is the full periodization to rounding: measured ≤ 3e-7 relative to
    kymatio in tests/transforms/test_scattering_paths.py), 1e-17 for float64 (below 1.1e-16)."""
    return 1e-17 if dtype == torch.float64 else 1e-8


def support_plan(filter_hat: torch.Tensor, s: int, tolerance: float = 1e-8, half: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The gather indices and block-diagonal weights of :func:`filter_subsample` for a bank of real Fourier filters.

    Args:
        filter_hat: ``(T, M, N)`` real filters on the DFT grid (float64 recommended); ``s`` divides ``M`` and ``N``.
        s: subsampling factor (``s ≥ 1``).
        tolerance: blocks where every filter's largest value is ≤ ``tolerance`` × that filter's peak are dropped
            (0 keeps every block: the plain periodization).
        half: the spectra will be ``rfft2`` half spectra ``(M, N//2 + 1)`` of real signals (else full ``(M, N)``).

    Returns:
        ``index``: ``(P·K,)`` int64 positions in the flattened spectrum (``P = MN/s²`` output frequencies, ``K`` kept
        blocks, frequency-major); ``weights``: ``(P, 2K, 2T)`` of ``filter_hat``'s dtype, with
        ``weights[p, 2k + c, 2t + c] = ψ̂_t(ω_p + b_k)/s²`` (times −1 for ``c = 1`` where the value comes from the
        conjugate half), zero elsewhere.
    """
    T, M, N = filter_hat.shape
    h, w = M // s, N // s
    blocks = filter_hat.reshape(T, s, h, s, w).permute(0, 1, 3, 2, 4).reshape(T, s * s, h, w)
    peak = filter_hat.abs().flatten(1).amax(1)
    kept = (blocks.abs().flatten(2).amax(2) > tolerance * peak[:, None]).any(0).nonzero()[:, 0]  # (K,)
    K = kept.numel()
    m = (kept // s)[:, None, None] * h + torch.arange(h)[None, :, None]  # (K, h, 1)
    n = (kept % s)[:, None, None] * w + torch.arange(w)[None, None, :]  # (K, 1, w)
    m, n = torch.broadcast_tensors(m, n)
    sign = torch.ones(K, h, w, dtype=filter_hat.dtype)
    if half:
        mirrored = n > N // 2  # û(m, n) = conj û(−m, −n), stored at column N − n ≤ N/2
        m = torch.where(mirrored, (-m) % M, m)
        n = torch.where(mirrored, (-n) % N, n)
        sign[mirrored] = -1.0
        index = m * (N // 2 + 1) + n
    else:
        index = m * N + n
    P = h * w
    index = index.permute(1, 2, 0).reshape(P * K)
    values = (blocks[:, kept] / s**2).permute(2, 3, 1, 0).reshape(P, K, T)  # (P, K, T)
    sign = sign.permute(1, 2, 0).reshape(P, K, 1)
    weights = torch.zeros(P, K, 2, T, 2, dtype=filter_hat.dtype)
    weights[:, :, 0, :, 0] = values
    weights[:, :, 1, :, 1] = values * sign
    return index, weights.reshape(P, 2 * K, 2 * T)


def filter_subsample(
    spectrum: torch.Tensor, index: torch.Tensor, weights: torch.Tensor, shape: tuple[int, int], batch_major: bool = True
) -> torch.Tensor:
    """``(1/s²) Σ_k ψ̂_t û_r`` over the kept alias blocks: the DFT of ``u ⋆ ψ_t`` subsampled by ``s``.

    Args:
        spectrum: ``(R, M, N')`` complex: the half (``N' = N//2 + 1``) or full spectra of ``R`` signals, as planned.
        index, weights: from :func:`support_plan` (weights in ``spectrum``'s real dtype, on its device).
        shape: ``(M/s, N/s)``, the output grid.
        batch_major: return ``(R, T, M/s, N/s)`` (one transposing copy of the output); ``False``: the frequency-major
            ``(M/s, N/s, R, T)`` the batched product writes (no copy; ``ifft2(…, dim=(0, 1))`` takes it as it is).

    Returns:
        Complex, ``(R, T, M/s, N/s)`` or ``(M/s, N/s, R, T)``. Differentiable.
    """
    R = spectrum.shape[0]
    P, K2, T2 = weights.shape
    gathered = torch.view_as_real(spectrum).reshape(R, -1, 2).index_select(1, index)  # (R, P·K, 2)
    products = torch.bmm(gathered.view(R, P, K2).transpose(0, 1), weights).view(*shape, R, T2 // 2, 2)  # (P, R, 2T)
    if batch_major:
        products = products.permute(2, 3, 0, 1, 4).contiguous()
    return torch.view_as_complex(products)


def filter_upsample(coefficients: torch.Tensor, index: torch.Tensor, weights: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """The transpose of :func:`filter_subsample` on full spectra: ``Σ_t w_t(ω) Ĉ_t(ω mod (M/s, N/s))`` on the full grid.

    Args:
        coefficients: ``(R, T, M/s, N/s)`` complex spectra (of the subsampled coefficients).
        index, weights: a plan of :func:`support_plan` with ``half=False`` (weights in ``coefficients``' real dtype).
        shape: ``(M, N)``, the full grid.

    Returns:
        ``(R, M, N)`` complex: ``Σ_t weights_t · tile(Ĉ_t)`` on the kept blocks, 0 on the dropped ones (where every
        filter is below the plan's tolerance). With the weights of ``support_plan`` times ``s²`` it is
        ``Σ_t ψ̂_t · tile(Ĉ_t)``, the synthesis by the filters of zero-inserted coefficients. Differentiable.
    """
    R, T, h, w = coefficients.shape
    P, K2, T2 = weights.shape
    rows = torch.view_as_real(coefficients).permute(2, 3, 0, 1, 4).reshape(P, R, T2)  # (P, R, 2T)
    products = torch.bmm(rows, weights.transpose(1, 2))  # (P, R, 2K)
    products = products.view(P, R, K2 // 2, 2).transpose(0, 1).reshape(R, -1, 2)  # (R, P·K, 2), the order of index
    full = products.new_zeros(R, shape[0] * shape[1], 2).index_add(1, index, products)
    return torch.view_as_complex(full).view(R, *shape)
