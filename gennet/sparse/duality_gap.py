"""The duality gap of the Lasso: a certificate of how far a code is from the Lasso solution (DESIGN §6b).

For ``P(z) = ½‖y − A z‖² + λ‖z‖₁`` (``z ≥ 0`` in the positive variant), the Lagrange dual is

    D(θ) = ½‖y‖² − ½‖y − θ‖²    subject to  ‖Aᵀθ‖_∞ ≤ λ   (positive: max_k (Aᵀθ)_k ≤ λ),

and ``D(θ) ≤ P(z*) ≤ P(z)`` for every feasible ``θ`` and every ``z``: ``P(z) − D(θ)`` bounds the
sub-optimality ``P(z) − P(z*)`` of ``z``. The dual point is the residual ``r = y − A z`` rescaled
into the feasible set, ``θ = r / max(1, ‖Aᵀr‖_∞ / λ)`` (positive: ``max_k (Aᵀr)_k`` in place of the
sup-norm), which is the dual solution when ``z`` is the primal one. The *relative* gap
``(P − D) / P ∈ [0, 1]`` is scale-free: multiplying ``y`` and ``λ`` by ``c > 0`` leaves it unchanged.

Source: El Ghaoui, Viallon & Rabbani, "Safe feature elimination in sparse supervised learning" (2012)
and Fercoq, Gramfort & Salmon, "Mind the duality gap: safer rules for the Lasso", ICML 2015 (§2,
the dual point by residual rescaling); Mairal, Bach & Ponce, "Sparse modeling for image and vision
processing" (2014), §5.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gennet.sparse.lasso import max_correlation
from gennet.sparse.operator import LinearOperator, as_operator

__all__ = ["LassoCertificate", "certificate", "duality_gap"]


@dataclass
class LassoCertificate:
    """Per-sample values ``(B,)`` at a code ``z`` (see :func:`duality_gap`).

    ``primal``: ``P(z)``; ``dual``: ``D(θ)`` at the rescaled residual; ``gap``: ``(P − D)/P`` (0 where
    ``P = 0``; ≥ 0 up to rounding); ``relative_residual``: ``‖y − Az‖/‖y‖`` (0 for ``y = 0``).
    """

    primal: Tensor
    dual: Tensor
    gap: Tensor
    relative_residual: Tensor


@torch.no_grad()
def duality_gap(
    y: Tensor, A: Tensor | LinearOperator, z: Tensor, lambda_: Tensor | float, positive: bool = False
) -> LassoCertificate:
    """The relative duality gap of ``min_z ½‖y − A z‖² + λ‖z‖₁`` (``z ≥ 0`` if ``positive``) at ``z``.

    Args:
        y: signals ``(B, d)`` (dense ``A``) or ``(B, *signal_shape)`` (operator).
        A: dense ``(d, K)`` dictionary or a :class:`~gennet.sparse.operator.LinearOperator`.
        z: codes ``(B, K)`` or ``(B, *code_shape)``; for ``positive``, negative entries make ``P`` the
            objective of an infeasible point (the gap is then not a certificate).
        lambda_: ``λ > 0``, a float, 0-dim tensor or per-sample ``(B,)`` tensor.
        positive: the non-negative Lasso.

    Returns:
        :class:`LassoCertificate` of ``(B,)`` tensors in ``y``'s dtype (no gradient).

    Raises:
        ValueError: ``λ ≤ 0``.
    """
    lam = torch.as_tensor(lambda_, dtype=y.dtype, device=y.device)
    if bool((lam <= 0).any()):
        raise ValueError(f"lambda must be > 0, got {lam.min().item()}")
    op = as_operator(A)
    r = y - op.forward(z)
    return certificate(y, r, op.adjoint(r), z, lam, positive)


@torch.no_grad()
def certificate(y: Tensor, r: Tensor, correlation: Tensor, z: Tensor, lam: Tensor, positive: bool = False) -> LassoCertificate:
    """:func:`duality_gap` from the residual ``r = y − A z`` and ``Aᵀr`` already at hand (no check of ``λ > 0``).

    ``D(θ) = ½‖y‖² − ½‖y − r/s‖² = (y·r − ‖r‖²/(2s))/s`` with ``s = max(1, c/λ)``: three inner products per sample,
    then a few elementwise operations on ``(B,)`` (0/0 — ``P = 0``, ``y = 0`` — gives 0 by ``nan_to_num``).
    """
    largest = max_correlation(correlation, positive, floor=False)  # (the positive 0 floor: the clamp at 1 covers it)
    scale = torch.div(largest, lam).clamp_(min=1.0)
    rf, yf = r.flatten(1), y.flatten(1)
    r2, yr, y2 = torch.linalg.vecdot(rf, rf), torch.linalg.vecdot(yf, rf), torch.linalg.vecdot(yf, yf)
    primal = torch.addcmul(r2, lam, torch.linalg.vector_norm(z, 1, dim=tuple(range(1, z.dim()))), value=2.0).mul_(0.5)
    dual = torch.sub(yr, torch.div(r2, scale), alpha=0.5).div_(scale)
    gap = torch.sub(primal, dual).div_(primal).nan_to_num_(nan=0.0)
    relative_residual = torch.div(r2, y2).sqrt_().nan_to_num_(nan=0.0, posinf=0.0)
    return LassoCertificate(primal=primal, dual=dual, gap=gap, relative_residual=relative_residual)
