"""Unit-norm atoms ``ã_k = a_k / ‖a_k‖`` with their norms, one autograd function with a hand-written backward (issue 16).

The generator's Lasso uses ``Ã = A·diag(1/‖a_k‖)`` and the norms themselves (``z = z̃/‖a_k‖``). With ``n_k = max(‖a_k‖, ε)``
and ``u_k = a_k / n_k``, the vector-Jacobian product of ``(u, n)`` for gradients ``(g_u, g_n)`` is, per atom,

    ∂a_k = g_{u,k}/n_k − (⟨g_{u,k}, u_k⟩/n_k − g_{n,k})·u_k      (the second term 0 where ‖a_k‖ ≤ ε: the clamp),

the derivative of ``a ↦ a/‖a‖`` (``(I − u uᵀ)/‖a‖``) and of ``‖a‖`` (``u``): a handful of operators where autograd through
``vector_norm``, ``clamp_min`` and the division takes about twenty. The forward is the plain computation (same values).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["unit_columns"]


class _UnitColumns(torch.autograd.Function):
    @staticmethod
    def forward(ctx, atoms: Tensor, eps: float):
        dims = tuple(range(1, atoms.dim()))
        norms = torch.linalg.vector_norm(atoms, dim=dims).clamp_min(eps)
        unit = atoms / norms.view(-1, *([1] * len(dims)))
        ctx.save_for_backward(unit, norms)
        ctx.eps = eps
        return unit, norms

    @staticmethod
    def backward(ctx, g_unit: Tensor | None, g_norms: Tensor | None):
        if g_unit is None and g_norms is None:
            return None, None
        unit, norms = ctx.saved_tensors
        shape = (-1, *([1] * (unit.dim() - 1)))
        if g_unit is None:  # ∂a_k = g_{n,k}·u_k
            return unit * g_norms.mul(norms > ctx.eps).view(shape), None
        coefficient = (g_unit * unit).sum(tuple(range(1, unit.dim()))).div_(norms)  # ⟨g_u, u⟩/n
        if g_norms is not None:
            coefficient.sub_(g_norms)
        coefficient.mul_(norms > ctx.eps)
        return torch.addcmul(g_unit / norms.view(shape), unit, coefficient.view(shape), value=-1), None


def unit_columns(atoms: Tensor, eps: float = 1e-12) -> tuple[Tensor, Tensor]:
    """``(a_k / max(‖a_k‖, ε), max(‖a_k‖, ε))`` for atoms ``(K, …)`` (norms over all but the first dimension): ``(K, …)``
    and ``(K,)``, in ``atoms``' dtype; differentiable in ``atoms`` (module docstring)."""
    return _UnitColumns.apply(atoms, eps)
