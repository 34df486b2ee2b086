"""Zarka et al.'s geometric homotopy ISTC (DESIGN.md §5): ``n_layers`` unrolled, differentiated-through layers.

``z_1 = T_{ηλ_1}(η Aᵀy)``, ``z_{n+1} = T_{ηλ_{n+1}}(z_n + η Aᵀ(y − A z_n))`` with the geometric thresholds
``λ_n = λ_0 γⁿ`` from ``λ_0 = max(λ_max, λ*)`` to ``λ_N = λ*`` and the step ``η = 1/‖A‖²``
(``norm_squared``, no gradient): a few elementwise operations per layer, the cheap choice inside
networks trained end to end (the sparse scattering classifier). Gradients flow through every layer.

Source: J. Zarka, L. Thiry, T. Angles & S. Mallat, "Deep Network Classification by Scattering and
Dictionary Learning", ICLR 2021 (arXiv:1910.03561), eq. 4.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gennet.sparse.duality_gap import LassoCertificate
from gennet.sparse.lasso import max_correlation, soft_threshold
from gennet.sparse.operator import LinearOperator, as_operator
from gennet.sparse.solver import LassoSolver

__all__ = ["ISTC", "istc"]


def istc_layers(
    y: Tensor, op: LinearOperator, aty: Tensor, lam: Tensor, n_layers: int, positive: bool, checkpoint: bool = False
) -> Tensor:
    """Geometric homotopy ISTC (Zarka et al. 2021, eq. 4) with step ``1/‖A‖²``; ``aty = Aᵀy``.

    ``checkpoint``: activation checkpointing of every layer (only the codes ``z_n`` are kept for the
    backward pass; each layer's ``A``/``Aᵀ`` products are recomputed) — same values and gradients."""
    B = y.shape[0]
    shape = (B, *([1] * (aty.ndim - 1)))
    lam_0 = torch.maximum(max_correlation(aty.reshape(B, -1), positive), lam).reshape(shape)
    gamma = (lam / lam_0) ** (1.0 / n_layers)
    eta = 1.0 / op.norm_squared().detach().to(aty.dtype).clamp_min(torch.finfo(aty.dtype).tiny)
    z = soft_threshold(eta * aty, eta * lam_0 * gamma, positive)

    def layer(z: Tensor, threshold: Tensor) -> Tensor:
        return soft_threshold(z + eta * (aty - op.adjoint(op.forward(z))), threshold, positive)

    for n in range(2, n_layers + 1):
        threshold = eta * lam_0 * gamma**n
        if checkpoint and torch.is_grad_enabled():
            z = torch.utils.checkpoint.checkpoint(layer, z, threshold, use_reentrant=False)
        else:
            z = layer(z, threshold)
    return z


def istc(
    y: Tensor, A: Tensor | LinearOperator, lambda_star: float | Tensor, n_layers: int = 12, positive: bool = False,
    checkpoint_layers: bool = False,
) -> Tensor:
    """``n_layers`` of geometric ISTC for ``min_z ½‖y − A z‖² + λ*‖z‖₁`` (module docstring) with an exact ``λ*``
    (float or 0-dim tensor, may require grad): ``y: (B, d)`` / ``(B, *signal_shape)`` → ``z: (B, K)`` /
    ``(B, *code_shape)``.

    Raises:
        ValueError: ``lambda_star <= 0`` or ``n_layers < 1``.
    """
    lam = torch.as_tensor(lambda_star, dtype=y.dtype, device=y.device)
    if lam.ndim != 0 or not bool(lam > 0):
        raise ValueError(f"lambda_star must be a float or a 0-dim tensor > 0, got {lambda_star}")
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    op = as_operator(A)
    return istc_layers(y, op, op.adjoint(y), lam, n_layers, positive, checkpoint_layers)


class ISTC(LassoSolver, name="istc"):
    """Geometric ISTC as a solver module (module docstring): ``n_layers`` unrolled layers, one ``(A, Aᵀ)`` pass each.

    Args: those of :class:`~gennet.sparse.solver.LassoSolver`, and
        checkpoint_layers: activation checkpointing of the unrolled layers (memory of one code per layer instead of
            all intermediate products; ~1 more ``(A, Aᵀ)`` pass per layer in the backward pass); the values and
            gradients are unchanged.
    """

    def __init__(
        self, lambda_star: float = 0.1, n_layers: int = 12, positive: bool = True, learn_lambda: bool = False,
        lambda_min: float = 0.0, checkpoint_layers: bool = False,
    ) -> None:
        super().__init__(lambda_star, n_layers, positive, learn_lambda, lambda_min)
        self.checkpoint_layers = bool(checkpoint_layers)

    def solve(
        self, y: Tensor, op: LinearOperator, lam: Tensor, aty: Tensor | None, want_certificate: bool
    ) -> tuple[Tensor, LassoCertificate | None]:
        return istc_layers(y, op, op.adjoint(y), lam, self.n_layers, self.positive, self.checkpoint_layers), None
