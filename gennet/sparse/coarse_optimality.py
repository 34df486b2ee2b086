"""The Lasso optimality map ``F = Aᵀ(y − A z) − λ·sign(z)`` of a coarse convolution, with a hand-written backward.

Implicit differentiation (:mod:`gennet.sparse.implicit`) back-propagates one vector ``v`` (the solve on the support)
through ``F`` per training step. For the coarse convolution ``A`` of :class:`~gennet.sparse.dictionary.CoarseConvOperator`
(per coarse frequency ``Ω`` of the 2-D real DFT, the complex ``C × K`` matrix ``Â(Ω) = k̂[:, :, Ω]ᵀ``), the vector-Jacobian
products of ``F`` (``z`` is fixed: a detached solution) are, with ``r = y − A z``,

    ∂⟨v, F⟩/∂y = A v,      ∂⟨v, F⟩/∂λ = −Σ v·sign(z),
    ∂⟨v, F⟩/∂a[k, c, t] = Σ_n r_c[n + t] v_k[n] − (A v)_c[n + t] z_k[n]      (a: the kernel, indices mod (h, w)),

the last one from ``⟨v, F⟩ = ⟨A v, y⟩ − ⟨A v, A z⟩``; in Fourier the correlations are ``r̂_c conj(v̂_k) − (Âv̂)_c conj(ẑ_k)``
summed over the batch, then one inverse real DFT (the cross-correlation theorem; exact for the real DFT, whose
half spectra of real signals multiply into the half spectrum of the real correlation). That is one forward
transform of ``v``, three frequency-wise contractions and two inverse transforms, where autograd through the
forward's FFTs and ``einsum``s takes about four times as many operators (issue 16). The forward pass computes
exactly what the plain formula computes (same operations, same values).

Source: the gradient of task-driven dictionary learning, Mairal, Bach & Ponce, IEEE TPAMI 2012, Prop. 1 (the
``∂F/∂θ`` of the implicit function theorem); the transforms as in :class:`~gennet.sparse.dictionary.CoarseConvOperator`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .coarse_products import kernel_spectrum, product_spectrum

__all__ = ["coarse_lasso_optimality"]


class _CoarseLassoOptimality(torch.autograd.Function):
    """``(F, r, Aᵀr)`` from ``(y, kernel, λ)``; ``z`` and ``k̂ = rfft2(kernel)`` are constants of the pass."""

    @staticmethod
    def forward(ctx, y: Tensor, kernel: Tensor, lam: Tensor, z: Tensor, kernel_hat: Tensor):
        h, w = z.shape[-2:]
        z_hat = torch.fft.rfft2(z)
        residual = y - torch.fft.irfft2(product_spectrum(z_hat, kernel_hat, False), s=(h, w))
        residual_hat = torch.fft.rfft2(residual)
        correlation = torch.fft.irfft2(product_spectrum(residual_hat, kernel_hat, True), s=(h, w))
        sign = torch.sign(z)
        F = torch.addcmul(correlation, lam, sign, value=-1)
        ctx.save_for_backward(residual_hat, z_hat, sign, kernel_hat)
        ctx.lam_shape, ctx.kernel_dtype = lam.shape, kernel.dtype
        ctx.mark_non_differentiable(residual, correlation)
        ctx.set_materialize_grads(False)  # (no zero gradients built for r and Aᵀr)
        return F, residual, correlation

    @staticmethod
    def backward(ctx, v: Tensor, _residual_grad, _correlation_grad):
        residual_hat, z_hat, sign, kernel_hat = ctx.saved_tensors
        if v is None:
            return None, None, None, None, None
        h, w = v.shape[-2:]
        grad_y = grad_kernel = grad_lam = None
        v_hat = torch.fft.rfft2(v if v.dtype == z_hat.real.dtype else v.to(z_hat.real.dtype))
        av_hat = product_spectrum(v_hat, kernel_hat, False)  # (A v)^
        if ctx.needs_input_grad[0]:
            grad_y = torch.fft.irfft2(av_hat, s=(h, w))
        if ctx.needs_input_grad[1]:
            spectrum = kernel_spectrum(residual_hat, v_hat) - kernel_spectrum(av_hat, z_hat)
            grad_kernel = torch.fft.irfft2(spectrum, s=(h, w))
            if grad_kernel.dtype != ctx.kernel_dtype:
                grad_kernel = grad_kernel.to(ctx.kernel_dtype)
        if ctx.needs_input_grad[2]:
            grad_lam = (v * sign).neg_().sum_to_size(ctx.lam_shape)
        return grad_y, grad_kernel, grad_lam, None, None


def coarse_lasso_optimality(y: Tensor, kernel: Tensor, kernel_hat: Tensor, z: Tensor, lam: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(F, r, Aᵀr)`` with ``r = y − A z`` and ``F = Aᵀr − λ·sign(z)`` for the coarse convolution of ``kernel``.

    Args:
        y: signals ``(B, C, h, w)``, in ``kernel_hat``'s real dtype. kernel: ``(K, C, h, w)`` real, the differentiable
            kernel; kernel_hat: its ``rfft2`` ``(K, C, h, w//2+1)`` (used as is, detached). z: codes ``(B, K, h, w)``,
            detached. lam: ``λ``, 0-dim or ``(B, 1, 1, 1)``.

    Returns:
        ``F: (B, K, h, w)`` (differentiable in ``y``, ``kernel``, ``λ``: module docstring), and ``r: (B, C, h, w)``,
        ``Aᵀr: (B, K, h, w)`` without gradient.
    """
    return _CoarseLassoOptimality.apply(y, kernel, lam, z, kernel_hat.detach() if kernel_hat.requires_grad else kernel_hat)
