"""Homotopy ISTA: unrolled sparse coding with a decreasing threshold (DESIGN.md §5).

Solves the Lasso ``min_z ½‖y − A z‖² + λ*‖z‖₁`` (``z ≥ 0`` when ``positive``) with exactly
``n_layers`` applications of the pair ``(A, Aᵀ)`` — one *layer* each — as a fully unrolled,
differentiable computation.

The schedule (``N = n_layers``, ``N_h = n_homotopy``, default ``min(N, max(8, ⌈N/2⌉))``):

1. **Homotopy layers** ``n = 1..N_h`` (Zarka et al.'s ISTC with an adaptive step)::

       z_0 = 0,  z_n = T_{η_n λ_n}( z_{n−1} + η_n Aᵀ(y − A z_{n−1}) ),
       λ_n = λ_0^{1 − n/N_h} λ*^{n/N_h},   λ_0 = max(λ_max, λ*),   λ_max = ‖Aᵀy‖_∞ (per sample)

   — the geometric schedule ``λ_n = λ_0 γⁿ, γ = (λ*/λ_0)^{1/N_h}``, ending at ``λ*``. The step is
   ``η_1 = 1`` (unit-norm atoms) and then the Barzilai–Borwein step
   ``η_n = ‖z_{n−1} − z_{n−2}‖² / ‖A z_{n−1} − A z_{n−2}‖²`` — the inverse Rayleigh quotient of
   ``AᵀA`` on the last move, i.e. a step fitted to the operator restricted to the current
   support, at no extra cost (both ``A z`` are computed anyway; Wright, Nowak & Figueiredo,
   SpaRSA, 2009). It is clamped to ``[1e-3, 1e3]``. Unlike a fixed ``1/‖A‖²`` it depends on the
   data, so it stays in the autograd graph: the gradient is that of the unrolled map, exactly.
   With ``N_h ≤ 2`` the first steps have no history and use ``η = 1`` at thresholds near ``λ*``:
   finite, but crude on overcomplete dictionaries (use ``n_layers ≥ 3``).
2. **Active-set conjugate-gradient layers** (the remaining ``N − N_h``), at ``λ*``. On the
   support ``S`` with signs ``s`` of the current code the Lasso solution solves
   ``A_Sᵀ(y − A_S z_S) = λ* s_S`` (why LARS is exact); each layer is one CG step on that system,
   whose single product ``AᵀA p`` also updates the full gradient ``g = Aᵀ(y − A z)`` exactly, so
   that (a) coordinates off ``S`` with ``|g_j| > λ*`` (``g_j > λ*`` if positive) join ``S`` at
   value 0 with sign ``sign(g_j)`` and CG restarts, free; (b) a step that would flip the sign of
   a coordinate of ``S`` is taken and then projected (crossing coordinates set to 0 and removed);
   ``g`` is then stale, and that sample's next layer recomputes ``g = Aᵀ(y − A z)`` instead of a
   CG step (same cost). The first of these layers is such a refresh. After the last layer, a
   free proximal step ``z ← T_{ηλ*}(z + η g)`` with ``η = 1 / max`` Rayleigh quotient ``p·AᵀAp/‖p‖²``
   seen by CG enforces the KKT conditions (skipped for samples whose ``g`` is stale).
   Given enough layers this terminates at the exact Lasso solution, like an active-set method.

Every branch is a per-sample ``torch.where`` between tensors that cost the same ``(A, Aᵀ)``
pass, so the batch runs in lockstep and ``n_layers`` is exactly the number of passes (plus one
extra ``A z`` when ``return_stats``). Gradients flow to ``y``, ``A`` (or the operator's tensors)
and ``λ*`` through every layer, step sizes included; supports and signs are piecewise constant.

References: Daubechies, Defrise & De Mol (2004), ISTA; Osborne, Presnell & Turlach (2000) and
Efron, Hastie, Johnstone & Tibshirani (2004), homotopy / LARS; Xiao & Zhang (2013), proximal-
gradient homotopy; Zarka, Thiry, Angles & Mallat, "Deep Network Classification by Scattering and
Dictionary Learning", ICLR 2021 (arXiv:1910.03561), ISTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gennet.sparse.lasso import max_correlation, soft_threshold
from gennet.sparse.operator import LinearOperator, as_operator

_STEP_RANGE = (1e-3, 1e3)


@dataclass
class HomotopyStats:
    """Batch means of the returned code (all detached 0-dim tensors).

    ``sparsity``: fraction of nonzeros ``‖z‖₀ / K`` (``K`` = all code entries);
    ``support_size``: ``‖z‖₀``; ``lambda_final``: ``λ`` of the last layer (``λ*``);
    ``relative_residual``: ``‖y − A z‖ / ‖y‖`` (0 for ``y = 0``).
    """

    sparsity: Tensor
    support_size: Tensor
    lambda_final: Tensor
    relative_residual: Tensor


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample inner product over all non-batch dims, shaped ``(B, 1, …, 1)`` like ``a``."""
    return (a * b).flatten(1).sum(1).reshape(-1, *([1] * (a.ndim - 1)))


def _default_n_homotopy(n_layers: int) -> int:
    return min(n_layers, max(8, math.ceil(n_layers / 2)))


def homotopy_ista(
    y: Tensor,
    A: Tensor | LinearOperator,
    lambda_star: float | Tensor,
    n_layers: int = 12,
    positive: bool = False,
    *,
    return_stats: bool = False,
    n_homotopy: int | None = None,
) -> Tensor | tuple[Tensor, HomotopyStats]:
    """Unrolled homotopy ISTA for ``min_z ½‖y − A z‖² + λ*‖z‖₁`` (module docstring: schedule).

    Args:
        y: signals ``(B, d)`` for a dense ``A``, ``(B, *signal_shape)`` for an operator; float.
        A: dense dictionary ``(d, K)`` with unit-norm columns, or a ``LinearOperator``
            (atoms of roughly unit norm: the first step is 1).
        lambda_star: ``λ* > 0``, float or 0-dim tensor (may require grad).
        n_layers: total number ``N ≥ 1`` of ``(A, Aᵀ)`` passes.
        positive: constrain ``z ≥ 0`` (one-sided threshold, ``λ_max = max(max Aᵀy, 0)``).
        return_stats: also return :class:`HomotopyStats` (costs one extra ``A z``).
        n_homotopy: number ``N_h`` of homotopy layers, ``1 ≤ N_h ≤ N``; default
            ``min(N, max(8, ⌈N/2⌉))``; the other ``N − N_h`` layers are active-set CG at ``λ*``.

    Returns:
        ``z: (B, K)`` or ``(B, *code_shape)``, same dtype as ``y`` (and the stats if asked).
        ``y = 0`` rows give ``z = 0``.

    Raises:
        ValueError: ``lambda_star <= 0``, ``n_layers < 1``, ``n_homotopy`` outside ``[1, n_layers]``.
    """
    lam = torch.as_tensor(lambda_star, dtype=y.dtype, device=y.device)
    if lam.ndim != 0:
        raise ValueError(f"lambda_star must be a float or a 0-dim tensor, got shape {tuple(lam.shape)}")
    if not bool(lam > 0):
        raise ValueError(f"lambda_star must be > 0, got {float(lam)}")
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    n_h = _default_n_homotopy(n_layers) if n_homotopy is None else n_homotopy
    if not 1 <= n_h <= n_layers:
        raise ValueError(f"n_homotopy must be in [1, n_layers={n_layers}], got {n_homotopy}")

    op = as_operator(A)
    aty = op.adjoint(y)  # first layer's gradient (z_0 = 0), also gives λ_max
    B = y.shape[0]
    code_col = (B, *([1] * (aty.ndim - 1)))
    sig_col = (B, *([1] * (y.ndim - 1)))
    lam_max = max_correlation(aty, positive).reshape(code_col)
    lam_0 = torch.maximum(lam_max, lam)

    # ---- 1. homotopy layers: geometric λ_n, Barzilai–Borwein step ----
    z = torch.zeros_like(aty)
    eta = torch.ones(code_col, dtype=y.dtype, device=y.device)
    prev: tuple[Tensor, Tensor] | None = None
    for n in range(1, n_h + 1):
        if n == 1:
            Az, g = torch.zeros_like(y), aty
        else:
            Az = op.forward(z)
            g = op.adjoint(y - Az)
        if prev is not None:
            dz, dAz = z - prev[0], Az - prev[1]
            num, den = _dot(dz, dz), _dot(dAz, dAz).reshape(code_col)
            ok = den > torch.finfo(y.dtype).tiny
            eta = torch.where(ok, (num / den.clamp_min(torch.finfo(y.dtype).tiny)).clamp(*_STEP_RANGE), eta)
        prev = (z, Az)
        t = n / n_h
        lam_n = lam_0 ** (1 - t) * lam**t
        z = soft_threshold(z + eta * g, eta * lam_n, positive)

    # ---- 2. active-set conjugate-gradient layers at λ* ----
    n_cg = n_layers - n_h
    if n_cg > 0:
        z = _active_set_cg(y, op, lam, z, n_cg, positive, eta, lam_0, code_col, sig_col)

    if not return_stats:
        return z
    with torch.no_grad():
        nnz = (z != 0).flatten(1).sum(1).to(y.dtype)
        y_norm = y.flatten(1).norm(dim=1)
        res = (y - op.forward(z)).flatten(1).norm(dim=1)
        rel = torch.where(y_norm > 0, res / y_norm.clamp_min(torch.finfo(y.dtype).tiny), torch.zeros_like(res))
        stats = HomotopyStats(
            sparsity=(nnz / z[0].numel()).mean(),
            support_size=nnz.mean(),
            lambda_final=lam.detach().clone(),
            relative_residual=rel.mean(),
        )
    return z, stats


def _active_set_cg(
    y: Tensor,
    op: LinearOperator,
    lam: Tensor,
    z: Tensor,
    n_passes: int,
    positive: bool,
    eta_h: Tensor,
    lam_0: Tensor,
    code_col: tuple[int, ...],
    sig_col: tuple[int, ...],
) -> Tensor:
    """Phase 2 of :func:`homotopy_ista`: ``n_passes`` layers of active-set CG (module docstring)."""
    tiny = torch.finfo(y.dtype).tiny
    tol2 = (100 * torch.finfo(y.dtype).eps * lam_0.detach()) ** 2  # CG converged below this ‖r‖²
    B = y.shape[0]
    stale = torch.ones(code_col, dtype=torch.bool, device=y.device)  # g must be recomputed
    g = torch.zeros_like(z)
    p = torch.zeros_like(z)
    rr = torch.zeros(code_col, dtype=y.dtype, device=y.device)
    support = z != 0
    sign = torch.sign(z).detach()
    rq_max = torch.zeros(code_col, dtype=y.dtype, device=y.device)
    for _ in range(n_passes):
        stale_sig = stale.reshape(sig_col)
        w = op.forward(torch.where(stale, z, p))
        h = op.adjoint(torch.where(stale_sig, y - w, w))  # g (refresh) or AᵀA p (CG step)
        # CG step on the support (ignored for refreshing samples)
        pq = _dot(p, h)
        rq_max = torch.where(stale, rq_max, torch.maximum(rq_max, pq / _dot(p, p).clamp_min(tiny)))
        step = ~stale & (rr > tol2) & (pq > 0)
        alpha = torch.where(step, rr / pq.clamp_min(tiny), torch.zeros_like(rr))
        z_cg = z + alpha * p
        crossed = (support & (z_cg * sign <= 0)) & step
        z_cg = torch.where(crossed, torch.zeros_like(z_cg), z_cg)
        g_cg = g - alpha * h
        projected = crossed.flatten(1).any(1).reshape(code_col)

        z_new = torch.where(stale, z, z_cg)
        g_new = torch.where(stale, h, g_cg)
        new_support = torch.where(stale, z != 0, support & ~crossed)
        new_sign = torch.sign(z_new).detach()
        restart = stale | projected
        # coordinates violating the KKT bound join the support at 0 (exact: z unchanged)
        with torch.no_grad():
            g_abs = g_new if positive else g_new.abs()
            enter = ~new_support & (g_abs > lam) & ~projected
            new_sign = torch.where(enter, torch.sign(g_new), new_sign)
            restart = restart | enter.flatten(1).any(1).reshape(code_col)
        new_support = new_support | enter
        r = torch.where(new_support, g_new - lam * new_sign, torch.zeros_like(g_new))
        rr_new = _dot(r, r)
        beta = torch.where(restart | (rr <= tol2), torch.zeros_like(rr), rr_new / rr.clamp_min(tiny))
        p = r + beta * torch.where(new_support, p, torch.zeros_like(p))
        z, g, support, sign, rr, stale = z_new, g_new, new_support, new_sign, rr_new, projected
    eta = torch.where(rq_max > 0, 1.0 / rq_max.clamp_min(tiny), eta_h).clamp(*_STEP_RANGE)
    return torch.where(stale, z, soft_threshold(z + eta * g, eta * lam, positive))


class HomotopyISTA(nn.Module):
    """Sparse-coding layer ``z = HISTA(y; A)`` around :func:`homotopy_ista`.

    ``λ*`` is stored as ``log_lambda`` (an ``nn.Parameter`` if ``learn_lambda``, else a buffer);
    :attr:`lambda_star` returns ``max(exp(log_lambda), lambda_min)``. The dictionary ``A`` is an
    argument of :meth:`forward` (it belongs to the model that learns it).

    Raises:
        ValueError: ``lambda_star <= 0``, ``n_layers < 1`` or ``lambda_min < 0``.
    """

    def __init__(
        self,
        lambda_star: float = 0.1,
        n_layers: int = 12,
        positive: bool = True,
        learn_lambda: bool = False,
        lambda_min: float = 0.0,
    ) -> None:
        super().__init__()
        if not lambda_star > 0:
            raise ValueError(f"lambda_star must be > 0, got {lambda_star}")
        if int(n_layers) != n_layers or n_layers < 1:
            raise ValueError(f"n_layers must be an integer >= 1, got {n_layers}")
        if not lambda_min >= 0:
            raise ValueError(f"lambda_min must be >= 0, got {lambda_min}")
        self.n_layers = int(n_layers)
        self.positive = positive
        self.lambda_min = float(lambda_min)
        log_lambda = torch.tensor(math.log(lambda_star))
        if learn_lambda:
            self.log_lambda = nn.Parameter(log_lambda)
        else:
            self.register_buffer("log_lambda", log_lambda)

    @property
    def lambda_star(self) -> Tensor:
        """``max(exp(log_lambda), lambda_min)``, a 0-dim tensor (differentiable above the floor)."""
        return self.log_lambda.exp().clamp_min(self.lambda_min)

    def forward(
        self, y: Tensor, A: Tensor | LinearOperator, return_stats: bool = False
    ) -> Tensor | tuple[Tensor, HomotopyStats]:
        """``y: (B, d)`` / ``(B, *signal_shape)`` → ``z: (B, K)`` / ``(B, *code_shape)``."""
        lam = self.lambda_star.to(dtype=y.dtype, device=y.device)
        return homotopy_ista(y, A, lam, self.n_layers, self.positive, return_stats=return_stats)

    def extra_repr(self) -> str:
        return (
            f"lambda_star={float(self.lambda_star):.4g}, n_layers={self.n_layers}, "
            f"positive={self.positive}, learn_lambda={isinstance(self.log_lambda, nn.Parameter)}"
        )
