"""ADMM for the Lasso with an exact linear solve (DESIGN §5, §6b): the solver behind the generator's code.

Solves ``min_z ½‖y − A z‖² + λ‖z‖₁`` (``z ≥ 0`` when ``positive``) by the alternating direction method
of multipliers on the split ``x = z`` (Boyd, Parikh, Chu, Peleato & Eckstein, "Distributed optimization
and statistical learning via ADMM", 2011, §6.4), with over-relaxation ``α``:

    x ← (AᵀA + ρI)⁻¹ (Aᵀy + ρ (z − u))          the exact solve, ``A.solve_shifted``
    x̂ ← α x + (1 − α) z
    z ← T_{λ/ρ}(x̂ + u)                          soft threshold (one-sided if positive)
    u ← u + x̂ − z

from ``z = u = 0``. The iterate returned is ``z``: exactly sparse, and feasible. The iterations run as one
affine recursion on a single state vector (:func:`admm_iterations`) through the operator's
:meth:`~gennet.sparse.operator.LinearOperator.column_map`: for positive codes an iteration is one elementwise
operation and three matrix products (:mod:`gennet.sparse.frequency_blocks`), without host synchronization. For the convolutional
operator ``A = L∘D`` the solve is diagonal in Fourier up to ``K × K`` blocks, one per coarse frequency
(:meth:`gennet.sparse.dictionary.CoarseConvOperator.solve_shifted`; Wohlberg, "Efficient algorithms for
convolutional sparse representations", IEEE TIP 2016): an iteration costs what one ``(A, Aᵀ)`` pass
costs, but it uses the whole per-frequency Gram — the coherence of shifted atoms that limits ISTA's
step ``1/‖A‖²`` does not slow it down.

Scale: ``ρ`` and ``α`` are dimensionless, so ``admm_lasso(c·y, A, c·λ) = c·admm_lasso(y, A, λ)`` for
``c > 0`` (exactly, up to rounding). The defaults ``ρ = 3`` (in units of the Gram matrix of unit-norm
atoms) and ``α = 1.8`` (Wohlberg's choice) were measured on a learned generator dictionary (digits,
``K = 64``, relative ``λ* = 0.1 … 0.3``, 128 test digits): mean relative duality gap after 24 / 32 / 48
iterations 1.2 / 0.7 / 0.2 % at ``λ* = 0.1`` and ≤ 0.5 / 0.2 / 0.04 % at ``λ* ≥ 0.2``; ``ρ = 1`` gave
6.9 / – / 1.4 %, ``ρ = 10`` 8.0 / 5.9 / 3.4 % at ``λ* = 0.1``, and a continuation in ``λ`` did not help
(``benchmarks/bench_homotopy.py`` compares the solvers).

No gradient flows through the iterations: the code is the Lasso solution, and its derivative is that of
the solution map (:mod:`gennet.sparse.implicit`), not of the iterations. :class:`ADMM` is the solver module
(the generator's default): the iterations, then, with gradients on, the implicit derivative.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gennet.compute_path import check_path, resolve_path
from gennet.sparse.duality_gap import LassoCertificate, certificate
from gennet.sparse.implicit import SPLITTING_ALPHA, SPLITTING_RHO, lasso_implicit
from gennet.sparse.operator import LinearOperator, as_operator
from gennet.sparse.solver import LassoSolver

__all__ = ["ADMM", "admm_iterations", "admm_lasso"]

RHO = 3.0  #: default ADMM penalty, in units of the Gram matrix ``AᵀA`` of unit-norm atoms
ALPHA = 1.8  #: default over-relaxation


def _check_rho_alpha(rho: float, alpha: float) -> None:
    if not rho > 0:
        raise ValueError(f"rho must be > 0, got {rho}")
    if not 0 < alpha < 2:
        raise ValueError(f"alpha must be in (0, 2), got {alpha}")


@torch.no_grad()
def admm_lasso(
    y: Tensor,
    A: Tensor | LinearOperator,
    lambda_: Tensor | float,
    n_iter: int,
    positive: bool = False,
    rho: float = RHO,
    alpha: float = ALPHA,
) -> Tensor:
    """``n_iter`` ADMM iterations for ``min_z ½‖y − A z‖² + λ‖z‖₁`` (module docstring).

    Args:
        y: signals ``(B, d)`` for a dense ``A``, ``(B, *signal_shape)`` for an operator.
        A: dense ``(d, K)`` dictionary or a :class:`~gennet.sparse.operator.LinearOperator` with
            ``solve_shifted`` (dense, pointwise and coarse convolutional operators have it).
        lambda_: ``λ > 0``: float, 0-dim or per-sample ``(B,)`` tensor.
        n_iter: iterations ``≥ 1`` (each one solve plus elementwise work; ``Aᵀy`` once).
        positive: ``z ≥ 0``.
        rho: penalty ``ρ > 0``. alpha: over-relaxation in ``(0, 2)``.

    Returns:
        ``z``: ``(B, K)`` or ``(B, *code_shape)`` in ``y``'s dtype, no gradient; ``y = 0`` rows give ``0``.

    Raises:
        ValueError: ``λ ≤ 0``, ``n_iter < 1``, ``ρ ≤ 0`` or ``α`` outside ``(0, 2)``.
    """
    lam = torch.as_tensor(lambda_, dtype=y.dtype, device=y.device)
    if bool((lam <= 0).any()):
        raise ValueError(f"lambda must be > 0, got {lam.min().item()}")
    if n_iter < 1:
        raise ValueError(f"n_iter must be >= 1, got {n_iter}")
    _check_rho_alpha(rho, alpha)
    return admm_iterations(y, as_operator(A), lam, n_iter, positive, rho, alpha)


@torch.no_grad()
def admm_iterations(
    y: Tensor, op: LinearOperator, lam: Tensor, n_iter: int, positive: bool, rho: float = RHO, alpha: float = ALPHA,
    aty: Tensor | None = None,
) -> Tensor:
    """:func:`admm_lasso` without the argument checks (``λ``: a 0-dim or ``(B,)`` tensor, assumed ``> 0``; ``aty``:
    ``Aᵀy`` if already computed).

    The iterations run on one state vector instead of ``(x, z, u)``. With ``s = x̂ + u`` (the input of the
    threshold), ``z = s − c`` and ``u = c`` where ``c = clamp(s, −θ, θ)`` (``min(s, θ)`` if positive),
    ``θ = λ/ρ``, and ``S = (AᵀA + ρI)⁻¹``, one iteration is exactly

        s ← (1 − α/2)·s + T(s − 2c) + α S Aᵀy,      T = αρ S − (α/2) I,

    and for positive codes, with ``r = s − θ`` (so that ``s − 2c = |r| − θ``),
    ``r ← (1 − α/2)·r + T|r| + α S (Aᵀy − λ)``, ``z = max(r, 0)``, from ``r = −θ`` (``z = u = 0``). ``T`` is one
    :meth:`~gennet.sparse.operator.LinearOperator.column_map` (three matrix products for a coarse convolution,
    the constant riding on them): an iteration is the map plus one (positive) or two elementwise operations.
    """
    aty = op.adjoint(y) if aty is None else aty  # (no graph is built here: no detach needed)
    B = aty.shape[0]
    T = op.column_map(B, "solve", rho=rho, gain=alpha * rho, identity=-alpha / 2)
    if lam.dtype != aty.dtype:
        lam = lam.to(aty.dtype)
    v = T.to_columns(aty)
    if positive:
        T.per_sample(v).sub_(lam)
    T.set_bias_from(v, 1 / rho, alpha / (2 * rho))  # (T v + (α/2) v)/ρ = α S v
    theta = lam / rho
    keep = 1 - alpha / 2
    if positive:
        r = torch.zeros_like(v)
        T.per_sample(r).sub_(theta)
        magnitude = torch.empty_like(r)
        for _ in range(n_iter):
            torch.abs(r, out=magnitude)
            T.apply(magnitude, out=r, beta=keep)
        z = T.to_codes(r.relu_())
        return z if z.dtype == y.dtype else z.to(y.dtype)
    s = torch.zeros_like(v)
    c, d = torch.empty_like(s), torch.empty_like(s)
    s_cols, c_cols, low = T.per_sample(s), T.per_sample(c), -theta
    for _ in range(n_iter):
        torch.clamp(s_cols, low, theta, out=c_cols)
        torch.add(s, c, alpha=-2, out=d)
        T.apply(d, out=s, beta=keep)
    torch.clamp(s_cols, low, theta, out=c_cols)
    z = T.to_codes(s.sub_(c))
    return z if z.dtype == y.dtype else z.to(y.dtype)


class ADMM(LassoSolver, name="admm"):
    """ADMM as a solver module (module docstring): ``n_layers`` iterations without a graph, then, when gradients are
    on, the derivative of the Lasso solution map by implicit differentiation on its support
    (:func:`~gennet.sparse.implicit.lasso_implicit`; the backward solve on the support is itself ADMM with the
    exact shifted solve, :func:`~gennet.sparse.implicit.support_solve_splitting`: 40 of these, whatever ``n_layers``,
    four operators each — the GPU path; or conjugate gradients, :func:`~gennet.sparse.implicit.support_solve`: at
    most 20 iterations of twelve operators, fewer matrix applications — the CPU path), whose residual also gives the
    certificate. Needs ``A.solve_shifted``; uses ``aty`` (detached) instead of one ``Aᵀ`` pass.

    Args: those of :class:`~gennet.sparse.solver.LassoSolver`, and ``rho`` (penalty ``> 0``), ``alpha``
    (over-relaxation in ``(0, 2)``), ``path``: the backward solve, ``"gpu"`` (splitting: few, large launches),
    ``"cpu"`` (conjugate gradients: less arithmetic) or ``"auto"`` (by the device of ``y``), as the transforms'
    ``path``. Both give the gradient to the solve's accuracy (tests compare them with the dense restricted inverse).

    Raises:
        ValueError: the base class's checks, ``rho <= 0``, ``alpha`` outside ``(0, 2)``, an unknown ``path``.
    """

    def __init__(
        self, lambda_star: float = 0.1, n_layers: int = 12, positive: bool = True, learn_lambda: bool = False,
        lambda_min: float = 0.0, rho: float = RHO, alpha: float = ALPHA, path: str = "auto",
    ) -> None:
        super().__init__(lambda_star, n_layers, positive, learn_lambda, lambda_min)
        _check_rho_alpha(rho, alpha)
        self.rho, self.alpha, self.path = float(rho), float(alpha), check_path(path)

    def resolved_path(self, y: Tensor) -> str:
        """``"gpu"`` or ``"cpu"``: the backward solve used for signals ``y`` (``path="auto"`` follows ``y``'s device)."""
        return resolve_path(self.path, y)

    def solve(
        self, y: Tensor, op: LinearOperator, lam: Tensor, aty: Tensor | None, want_certificate: bool
    ) -> tuple[Tensor, LassoCertificate | None]:
        z = admm_iterations(y, op, lam, self.n_layers, self.positive, self.rho, self.alpha, aty=aty)
        if not torch.is_grad_enabled():
            return z, None
        splitting = (SPLITTING_RHO, SPLITTING_ALPHA) if self.resolved_path(y) == "gpu" else None
        z, residual, correlation = lasso_implicit(z, y, op, lam, return_residual=True, splitting=splitting)
        if not want_certificate:
            return z, None
        return z, certificate(y, residual, correlation, z, lam, self.positive)  # (no_grad: no detach needed)
