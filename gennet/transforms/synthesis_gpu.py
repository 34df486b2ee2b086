"""``U⁻¹`` on the GPU path as one autograd function, its backward the adjoint written out (issue 16).

``U⁻¹`` (:class:`~gennet.transforms.embedding.RectifiedWavelet2D`, DESIGN §2) is linear: with ``R`` the recovery of the
complex coefficients from the ``A`` phases, ``c_j = R u_j = (4/A) Σ_a e^{iα_a} u_{j,a}``, ``T*`` the synthesis by the
filters of the zero-inserted coefficients and ``(T*T)⁻¹`` the dual-frame solve (real symmetric blocks over the alias
classes of the ``2^J`` grid),

    x = Re F⁻¹ D ( φ̂_J·tile(F y_φ) + ½ (W + conj W(−ω)) ),     W = Σ_j Σ_θ ψ̂_{j,θ}·tile(F c_{j,θ}),

(``F``: the unnormalized 2-D DFT at each resolution, ``D``: the block solve). Its adjoint, for real inner products of
the real coefficients (``F⁻¹``'s adjoint is ``F/N``, ``F``'s is ``N_j F⁻¹``; ``D`` and the Hermitian symmetrization are
self-adjoint, and the latter is the identity on the Hermitian spectrum ``D F g`` of a real ``g``):

    ĝ = D F g / N,     ∂u_{j,a} = (4/A)·(N_j/N)·(cos α_a Re + sin α_a Im) F⁻¹ S_j(ψ̂_{j,θ} ĝ),
    ∂y_φ = (N_J/N)·Re F⁻¹ S_J(φ̂_J ĝ),

with ``S_j`` the sum of the ``4^j`` aliases (the transpose of ``tile``): the analysis of the GPU path
(:func:`~gennet.transforms.periodized.filter_subsample`, the transpose of the synthesis'
:func:`~gennet.transforms.periodized.filter_upsample`), without the rectifier. About 45 operators where autograd through
the synthesis' reshapes and FFTs takes about 100. The forward pass is the plain synthesis (same values).

Source: S. Mallat, *A Wavelet Tour of Signal Processing* (3rd ed.), §5.1 (the dual frame ``(T*T)⁻¹T*``); the
phase-harmonic recovery of DESIGN §2.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .fourier import tile
from .frame import from_classes, to_classes
from .periodized import filter_subsample

__all__ = ["dual_solve", "inverse_gpu"]


def dual_solve(spectrum: Tensor, blocks: Tensor, s: int) -> Tensor:
    """``(T*T)⁻¹`` on spectra ``(B, C, H, W)`` complex: the real ``(h·w, s², s²)`` ``blocks`` applied per alias class."""
    H, W = spectrum.shape[-2:]
    grouped = torch.view_as_real(to_classes(spectrum, s))  # (B, C, n, s², 2)
    solved = torch.einsum("npq,bcnqt->bcnpt", blocks, grouped)
    return from_classes(torch.view_as_complex(solved.contiguous()), s, H, W)


def _dual_solve_lean(spectrum: Tensor, blocks: Tensor, s: int) -> Tensor:
    """:func:`dual_solve` as one batched product over the alias classes (``(n, s², s²) @ (n, s², 2R)``), in fewer
    operators; ``spectrum`` ``(R, H, W)`` complex → ``(R, H, W)`` complex (same values to rounding)."""
    R, H, W = spectrum.shape
    h, w = H // s, W // s
    grouped = torch.view_as_real(spectrum).view(R, s, h, s, w, 2).permute(2, 4, 1, 3, 0, 5).reshape(h * w, s * s, 2 * R)
    solved = torch.bmm(blocks, grouped).view(h, w, s, s, R, 2).permute(4, 2, 0, 3, 1, 5).reshape(R, H, W, 2)
    return torch.view_as_complex(solved)


def _recovered(band: Tensor, plan: dict, dtype: torch.dtype) -> Tensor:
    """``recover_complex`` of a band ``(B, C, L, A, h, w)`` as one product: complex ``(B, C, L, h, w)``."""
    band = band if band.dtype == dtype else band.to(dtype)
    return torch.view_as_complex(torch.matmul(band.movedim(3, -1), plan["recover_t"]))


def _inverse_lean(U, lowpass: Tensor, bands, dtype: torch.dtype) -> Tensor:
    """``U⁻¹`` by the formula of the module docstring, in few operators (no graph: the forward of :class:`_InverseGPU`;
    the CPU path of :meth:`~gennet.transforms.embedding.RectifiedWavelet2D.inverse` computes the same). The syntheses of all
    scales accumulate in one spectrum (the scales ``j ≥ 1`` by ``index_add_`` into it); the Hermitian symmetrization is
    left out: the dual solve commutes with it (its blocks are real and map the class of ``ω`` to that of ``−ω`` as
    they map ``ω``), and ``Re F⁻¹`` discards the anti-Hermitian part it would remove. Same values up to rounding."""
    B, C = lowpass.shape[:2]
    R, H, W = B * C, U.H, U.W
    plan = U._gpu_plan(lowpass.device, dtype)
    spectrum = (torch.fft.fft2(_recovered(bands[0], plan, dtype)) * plan["psi0"]).sum(2)  # (B, C, H, W)
    spectrum.addcmul_(tile(torch.fft.fft2(lowpass), 2**U.J), plan["phi"])
    flat = torch.view_as_real(spectrum).view(R, H * W, 2)
    for j in range(1, U.J):
        c = torch.fft.fft2(_recovered(bands[j], plan, dtype))  # (B, C, L, H_j, W_j)
        weights = plan[f"synthesis_t_{j}"]  # (P, 2T, 2K)
        P, K = weights.shape[0], weights.shape[2] // 2
        rows = torch.view_as_real(c).permute(3, 4, 0, 1, 2, 5).reshape(P, R, -1)  # (P, R, 2T)
        products = torch.bmm(rows, weights).view(P, R, K, 2).transpose(0, 1).reshape(R, P * K, 2)
        flat.index_add_(1, plan[f"index_{j}"], products)  # filter_upsample, accumulated
    spectrum = _dual_solve_lean(spectrum.view(R, H, W), plan["dual"], 2**U.J)
    return torch.fft.ifft2(spectrum).real.view(B, C, H, W)


class _InverseGPU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, U, dtype, lowpass: Tensor, *bands: Tensor) -> Tensor:
        ctx.U, ctx.dtype = U, dtype
        ctx.band_dtypes = [b.dtype for b in bands]
        ctx.lowpass_dtype = lowpass.dtype
        return _inverse_lean(U, lowpass, bands, dtype)

    @staticmethod
    def backward(ctx, g: Tensor):
        U, dtype = ctx.U, ctx.dtype
        B, C, H, W = g.shape
        plan = U._gpu_plan(g.device, dtype)
        g = g if g.dtype == dtype else g.to(dtype)
        spectrum = _dual_solve_lean(torch.fft.fft2(g.reshape(B * C, H, W)), plan["dual"], 2**U.J)  # D F g (1/N: below)
        grads: list[Tensor | None] = [None, None]
        if ctx.needs_input_grad[2]:
            low = filter_subsample(spectrum, plan[f"index_{U.J}"], plan[f"synthesis_{U.J}"], U.coarse_shape)
            low = torch.fft.ifft2(low).real.view(B, C, *U.coarse_shape).mul_(4.0**-U.J)  # N_J/N = 4^-J
            grads.append(low if low.dtype == ctx.lowpass_dtype else low.to(ctx.lowpass_dtype))
        else:
            grads.append(None)
        for j in range(U.J):
            if not ctx.needs_input_grad[3 + j]:
                grads.append(None)
                continue
            if j == 0:
                c = torch.fft.ifft2(spectrum.view(B, C, 1, H, W) * plan["psi0"])  # (B, C, L, H, W)
                band = torch.matmul(torch.view_as_real(c), plan["project_0"]).movedim(-1, 3)  # (B, C, L, A, H, W)
            else:  # frequency-major (H_j, W_j, B·C, L): no transposing copy
                c = filter_subsample(spectrum, plan[f"index_{j}"], plan[f"synthesis_{j}"], U.band_shape(j), batch_major=False)
                band = torch.matmul(torch.view_as_real(torch.fft.ifft2(c, dim=(0, 1))), plan[f"project_{j}"])
                band = band.permute(2, 3, 4, 0, 1).view(B, C, U.L, U.A, *U.band_shape(j))
            grads.append(band if band.dtype == ctx.band_dtypes[j] else band.to(ctx.band_dtypes[j]))
        return tuple(grads)


def inverse_gpu(U, lowpass: Tensor, bands, dtype: torch.dtype) -> Tensor:
    """``U⁻¹(lowpass, bands)`` on the GPU path, ``(B, C, H, W)`` in ``dtype`` (``lowpass`` already in it), with the
    hand-written adjoint as its backward (module docstring)."""
    return _InverseGPU.apply(U, dtype, lowpass, *bands)
