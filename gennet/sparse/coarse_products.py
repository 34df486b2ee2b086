"""The products ``A z`` and ``Aᵀ y`` of a coarse convolution with a hand-written backward (issue 16).

For the multi-channel periodic convolution of :class:`~gennet.sparse.dictionary.CoarseConvOperator`
(``(A z)_c[m] = Σ_k Σ_n a[k, c, m − n] z_k[n]``, computed per frequency of the 2-D real DFT with ``k̂ = rfft2(a)``),
the vector-Jacobian products are again such products and one cross-correlation per kernel entry:

    A z:   ∂⟨g, A z⟩/∂z = Aᵀ g,   ∂⟨g, A z⟩/∂a[k, c, t] = Σ_n g_c[n + t] z_k[n]  (= irfft2(ĝ_c conj(ẑ_k)), summed over the batch);
    Aᵀy:   ∂⟨g, Aᵀy⟩/∂y = A g,    ∂⟨g, Aᵀy⟩/∂a[k, c, t] = Σ_n y_c[n + t] g_k[n]  (= irfft2(ŷ_c conj(ĝ_k))).

The gradient reaches the kernel in space directly, not through ``k̂`` and the backward of ``rfft2``; the forward is the
plain computation (``rfft2``, one ``einsum`` over the frequencies, ``irfft2``: same values). Source: the
cross-correlation theorem; :mod:`gennet.sparse.coarse_optimality` for the same products inside the Lasso's optimality map.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["coarse_conv"]

_EQUATIONS = {False: "bkhw,kchw->bchw", True: "bchw,kchw->bkhw"}  # A z, Aᵀ y


def product_spectrum(x_hat: Tensor, kernel_hat: Tensor, adjoint: bool) -> Tensor:
    """The half spectrum of ``A x`` (``Aᵀ x`` with ``adjoint``) from the half spectrum ``x̂`` of ``x``: one contraction
    per frequency."""
    return torch.einsum(_EQUATIONS[adjoint], x_hat, kernel_hat.conj() if adjoint else kernel_hat)


def kernel_spectrum(signal_hat: Tensor, code_hat: Tensor) -> Tensor:
    """``Σ_b ŝ_c conj(ẑ_k)``: ``(K, C, h, w')``, the half spectrum of the cross-correlations ``Σ_n s_c[n + t] z_k[n]``
    (summed over the batch) of signals ``(B, C, h, w')`` and codes ``(B, K, h, w')`` — a kernel's gradient."""
    return torch.einsum("bchw,bkhw->kchw", signal_hat, code_hat.conj())


def _product(x_hat: Tensor, kernel_hat: Tensor, adjoint: bool, size: tuple[int, int]) -> Tensor:
    return torch.fft.irfft2(product_spectrum(x_hat, kernel_hat, adjoint), s=size)


class _CoarseConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, kernel: Tensor, kernel_hat: Tensor, adjoint: bool) -> Tensor:
        size = x.shape[-2:]
        x_hat = torch.fft.rfft2(x)
        ctx.save_for_backward(x_hat if ctx.needs_input_grad[1] else None, kernel_hat)
        ctx.adjoint, ctx.kernel_dtype = adjoint, kernel.dtype
        return _product(x_hat, kernel_hat, adjoint, size)

    @staticmethod
    def backward(ctx, g: Tensor):
        x_hat, kernel_hat = ctx.saved_tensors
        size = g.shape[-2:]
        g_hat = torch.fft.rfft2(g if g.dtype == kernel_hat.real.dtype else g.to(kernel_hat.real.dtype))
        grad_x = _product(g_hat, kernel_hat, not ctx.adjoint, size) if ctx.needs_input_grad[0] else None
        grad_kernel = None
        if ctx.needs_input_grad[1]:
            signal, code = (x_hat, g_hat) if ctx.adjoint else (g_hat, x_hat)  # (B, C, …) and (B, K, …) spectra
            grad_kernel = torch.fft.irfft2(kernel_spectrum(signal, code), s=size)
            if grad_kernel.dtype != ctx.kernel_dtype:
                grad_kernel = grad_kernel.to(ctx.kernel_dtype)
        return grad_x, grad_kernel, None, None


def coarse_conv(x: Tensor, kernel: Tensor, kernel_hat: Tensor, adjoint: bool = False) -> Tensor:
    """``A x`` (codes ``(B, K, h, w)`` → ``(B, C, h, w)``) or, with ``adjoint``, ``Aᵀ x`` (``(B, C, h, w)`` → ``(B, K, h, w)``)
    for the kernel ``(K, C, h, w)`` real and its ``rfft2`` ``kernel_hat`` ``(K, C, h, w//2+1)`` (a constant: the gradient
    goes to ``kernel``). ``x`` in ``kernel_hat``'s real dtype. Differentiable in ``x`` and ``kernel`` (module docstring)."""
    return _CoarseConv.apply(x, kernel, kernel_hat.detach() if kernel_hat.requires_grad else kernel_hat, adjoint)
