"""Lasso helpers (DESIGN.md §5): soft thresholding, ``λ_max`` and the objective.

Convention everywhere: ``F(z) = ½‖y − A z‖² + λ*‖z‖₁`` per sample (``z ≥ 0`` in the positive
variant). ``A`` is a dense ``(d, K)`` tensor or a :class:`~gennet.sparse.operator.LinearOperator`;
reductions run over all non-batch dimensions, so convolutional codes ``(B, K, h, w)`` work too.
scikit-learn's ``Lasso(alpha)`` on ``d`` samples minimizes ``F / d`` with ``λ* = alpha·d``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gennet.sparse.operator import LinearOperator, as_operator


def _per_sample(t: Tensor | float, like: Tensor) -> Tensor | float:
    """Reshape a ``(B,)`` tensor to ``(B, 1, …, 1)`` so that it broadcasts against ``like``."""
    if isinstance(t, Tensor) and t.ndim == 1 and like.ndim > 1:
        return t.reshape(-1, *([1] * (like.ndim - 1)))
    return t


def soft_threshold(t: Tensor, lam: Tensor | float, positive: bool = False) -> Tensor:
    """Proximal operator of ``λ‖·‖₁``: ``T_λ(t) = sign(t)·max(|t| − λ, 0)``; ``max(t − λ, 0)`` if ``positive``.

    ``lam`` is a float, a 0-dim tensor, a per-sample ``(B,)`` tensor, or any tensor
    broadcastable to ``t`` (e.g. ``(B, 1)``). Differentiable in ``t`` and ``lam``.
    """
    lam = _per_sample(lam, t)
    if positive:
        return torch.relu(t - lam)
    return torch.sign(t) * torch.relu(t.abs() - lam)


def lambda_max(y: Tensor, A: Tensor | LinearOperator, positive: bool = False) -> Tensor:
    """Smallest ``λ`` with ``z = 0`` as Lasso solution, per sample: ``‖Aᵀy‖_∞`` → ``(B,)``.

    Positive variant: ``max(max(Aᵀy), 0)``. ``y: (B, d)`` or ``(B, *signal_shape)``.
    """
    return max_correlation(as_operator(A).adjoint(y), positive)


def max_correlation(c: Tensor, positive: bool = False, keepdim: bool = False, floor: bool = True) -> Tensor:
    """``λ_max`` from precomputed correlations ``c = Aᵀy: (B, *code_shape)`` → ``(B,)`` (``(B, 1, …)`` with ``keepdim``).

    ``λ_max = max_k c_k`` (positive codes; floored at 0 unless ``floor=False``, for callers to which a ``λ_max ≤ 0`` makes no
    difference — they clamp or replace it — one operation fewer) or ``max_k |c_k|``.
    """
    dims = tuple(range(1, c.dim()))
    largest = c.amax(dims, keepdim=keepdim) if positive else c.abs().amax(dims, keepdim=keepdim)
    return largest.clamp_min(0) if positive and floor else largest


def lasso_objective(y: Tensor, A: Tensor | LinearOperator, z: Tensor, lambda_star: Tensor | float) -> Tensor:
    """``½‖y − A z‖² + λ*‖z‖₁`` per sample → ``(B,)`` (``λ*`` scalar or ``(B,)``)."""
    residual = (y - as_operator(A).forward(z)).flatten(1)
    return 0.5 * residual.pow(2).sum(1) + lambda_star * z.flatten(1).abs().sum(1)
