"""FISTA (DESIGN.md §5): ``n_layers`` accelerated proximal-gradient steps on the Lasso, differentiated through.

    v_1 = 0,   z_n = T_{ηλ}(v_n + η Aᵀ(y − A v_n)),   t_{n+1} = (1 + √(1 + 4 t_n²)) / 2,
    v_{n+1} = z_n + ((t_n − 1) / t_{n+1}) (z_n − z_{n−1}),   t_1 = 1,

with ``T`` the soft threshold (one-sided for ``positive``) and the step ``η = 1/‖A‖²`` (``norm_squared``, no
gradient). The objective gap falls as ``O(1/n²)`` (ISTA's is ``O(1/n)``); unlike ISTC's geometric thresholds the
weight is ``λ*`` from the first layer, so few layers leave small coefficients that the homotopy would not have
switched on yet. It is the reference first-order method of the Lasso benchmarks.

Source: A. Beck & M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear inverse problems",
SIAM J. Imaging Sciences 2(1), 2009, §4 (FISTA with constant step).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gennet.sparse.duality_gap import LassoCertificate
from gennet.sparse.lasso import soft_threshold
from gennet.sparse.operator import LinearOperator
from gennet.sparse.solver import LassoSolver

__all__ = ["FISTA"]


class FISTA(LassoSolver, name="fista"):
    """FISTA as a solver module (module docstring): ``n_layers`` steps, one ``(A, Aᵀ)`` pass each.

    Args: those of :class:`~gennet.sparse.solver.LassoSolver` (``n_layers`` is the number of FISTA steps).

    Raises:
        ValueError: as :class:`~gennet.sparse.solver.LassoSolver`.
    """

    def solve(
        self, y: Tensor, op: LinearOperator, lam: Tensor, aty: Tensor | None, want_certificate: bool
    ) -> tuple[Tensor, LassoCertificate | None]:
        if aty is None:
            aty = op.adjoint(y)
        eta = 1.0 / op.norm_squared().detach().to(aty.dtype).clamp_min(torch.finfo(aty.dtype).tiny)
        threshold = eta * lam
        z = soft_threshold(eta * aty, threshold, self.positive)  # the first step, from v_1 = 0
        v, t = z, (1.0 + math.sqrt(5.0)) / 2.0  # v_2 = z_1 (its momentum (t_1 − 1)/t_2 is 0), t_2
        for _ in range(1, self.n_layers):
            z_next = soft_threshold(v + eta * (aty - op.adjoint(op.forward(v))), threshold, self.positive)
            t_next = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
            v = z_next + ((t - 1.0) / t_next) * (z_next - z)
            z, t = z_next, t_next
        return z, None
