"""Homotopy ISTA: unrolled sparse coding with a decreasing threshold (DESIGN.md §5).

Solves the Lasso ``min_z F(z) = ½‖y − A z‖² + λ*‖z‖₁`` (``z ≥ 0`` when ``positive``) with exactly
``n_layers`` applications of the pair ``(A, Aᵀ)`` — one *layer* each — as a fully unrolled,
differentiable computation: a pathwise active-set method (LARS-like homotopy in ``λ``) whose
values are solved by conjugate directions kept in memory: the function :func:`homotopy_ista` and the
solver module :class:`ActiveSetHomotopy` (:mod:`gennet.sparse.solver`; the other solvers — ADMM, Zarka et
al.'s geometric ISTC — are :mod:`gennet.sparse.admm` and :mod:`gennet.sparse.istc`).

State per sample: the code ``z``, its exact gradient ``g = Aᵀ(y − A z)`` (every move is along
directions whose ``AᵀA``-image is known, so ``g`` is updated without extra passes), the support
``S`` with signs ``s``, a set ``P ⊂ S`` of *pending* coordinates (wrong-signed, to be set to 0),
and a basis ``Q`` of search directions, orthonormal for ``⟨u, v⟩ = (Au)·(Av)``, with ``H = AᵀA Q``.
Layer ``n = 1..N`` (``N_h`` = ``n_homotopy``, default ``round(0.35 N)``; ``k`` = ``max_enter``, 6):

1. **Threshold.** ``λ_n = max(λ*, min(λ_{n−1}, max(λ_{n−1}(λ*/λ_{n−1})^{1/(N_h−n+1)}, τ_n)))`` with
   ``λ_0 = max(λ_max, λ*)``, ``λ_max = ‖Aᵀy‖_∞`` and ``τ_n`` the ``(k+1)``-th largest ``|g_j|``
   off ``S`` (``g_j`` if positive): geometric towards ``λ*`` (reached at layer ``N_h``), but never
   so fast that more than ``k`` atoms enter at once — as LARS, which steps from breakpoint to
   breakpoint, in batches of ``k``. Then ``λ_n = λ*`` (unless ``k`` still binds).
2. **Entering.** Coordinates off ``S`` with ``|g_j| > λ_n`` join ``S`` at value 0 with sign ``sign g_j``.
3. **Direction, and the layer's single pass** ``h = AᵀA p``. Normally ``p = r``, the residual of
   the support equations ``r = g − λ_n s`` on ``S \ P`` (0 elsewhere) — a steepest-descent /
   CG direction. If the sample has pending coordinates, ``p = −z`` on ``P`` and ``r / ρ`` on the
   rest, ``ρ`` the Rayleigh quotient ``pᵀh/‖p‖²`` of the last direction: one move that sets all of
   ``P`` to 0 at once *and* takes a gradient step, with ``g`` exact afterwards (no refresh pass).
   That move (``t = 1``) is taken if ``F_{λ_n}(z + p)`` does not exceed the max of
   ``F_{λ_n}`` over the last 3 layers (non-monotone safeguard; ``½‖y − Az‖²`` is tracked exactly),
   else ``t`` is the exact minimizer of ``F_{λ_n}(z + t p)`` on ``[0, 1]`` (a convex piecewise
   quadratic, scanned over its sorted kinks), ``P`` stays pending and ``ρ ← ρ / max(t, 0.1)``.
4. **Span step.** A non-pending sample appends ``p`` to ``Q`` (A-orthogonalized twice; dropped if
   dependent). Every sample then moves to the minimizer of the quadratic model
   ``½‖y − A z‖² + λ_n sᵀz`` over ``z + span Q`` (coordinates outside ``S \ P`` held fixed):
   ``d = Qᵀ Q r``, ``z ← z + d``, ``g ← g − Hᵀ Q r``. On a fixed support this is CG with full
   reorthogonalization, and a change of ``λ`` or new atoms do not restart it (old directions stay
   valid; the ``λ`` shift within the span is the LARS path direction). Coordinates that cross
   zero become pending, and the span is restricted to codes vanishing there (one Householder
   reflection of ``Q``, ``H`` per coordinate — exact, no pass).

The output sets the pending coordinates to 0. Only ``forward``/``adjoint`` of the operator are used,
plus inner products and small ``(B, m, K)`` tensor contractions (``m ≤ min(N, memory)``; no solve,
no ``K×K`` matrix); every branch is a per-sample ``torch.where``, so the batch runs in lockstep and
``n_layers`` is exactly the number of passes (plus one extra ``A z`` when ``return_stats``).
Gradients flow to ``y``, ``A`` (or the operator's tensors) and ``λ*`` through every layer, step
sizes, thresholds ``λ_n`` and line searches included; supports, signs and the choice of kink are
piecewise constant.

Measured (``benchmarks/bench_homotopy.py``, Gaussian unit-norm dictionaries d 128–300,
K 512–1024, 10–30-sparse codes + 5% noise, λ* 0.02–0.1, signed and positive, 8 trials per row,
relative ℓ2 error to scikit-learn's Lasso, seeds 0–23 = 2304 calibrated trials): mean error
0.077 / 0.0054 / 5·10⁻⁵ at N = 6 / 12 / 24 (geometric ISTC 0.107 / 0.037 / 0.016); worst case
0.53 / 0.17 / 0.021 (ISTC 8.7 / 0.39 / 0.12). At N = 24, 4 of the 2304 trials exceed 0.5%
(0.69%, 0.88%, 0.96%, 2.1%; seeds 8, 14, 18, 21 — 20 of 24 seeds are ≤ 0.5%), all signed with
λ* = 0.02: a few tiny atoms (≤ 0.2% of ‖z‖) still enter or leave in the last layers, each change
shrinking the basis, so the values are not yet converged. Never non-finite, including the coherent
d = 128, K = 1024 "stress" rows (20% noise, Lasso supports ~70 atoms: worst 4.7% at N = 24).

References: Daubechies, Defrise & De Mol (2004), ISTA; Osborne, Presnell & Turlach (2000) and
Efron, Hastie, Johnstone & Tibshirani (2004), homotopy / LARS; Hestenes & Stiefel (1952), CG;
Narkiss & Zibulevsky (2005), sequential subspace optimization; Zarka, Thiry, Angles & Mallat,
"Deep Network Classification by Scattering and Dictionary Learning", ICLR 2021
(arXiv:1910.03561), ISTC.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gennet.sparse.duality_gap import LassoCertificate
from gennet.sparse.lasso import max_correlation
from gennet.sparse.operator import LinearOperator, as_operator
from gennet.sparse.solver import HomotopyStats, LassoSolver, code_statistics

__all__ = ["ActiveSetHomotopy", "HomotopyStats", "homotopy_ista"]

_RQ_MIN = 1e-3  # floor of the curvature estimate (step ≤ 1000)
_NONMONOTONE = 3  # a pending step may not raise F above its max over the last 3 layers
_DEPENDENT = 1e4  # a direction whose A-norm² falls below this·eps of its own is dropped


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample inner product of flattened codes ``(B, K)`` → ``(B, 1)``."""
    return (a * b).sum(1, keepdim=True)


def _safe_div(num: Tensor, den: Tensor, ok: Tensor, fallback: float | Tensor = 0.0) -> Tensor:
    """``num / den`` where ``ok``, else ``fallback``, with finite gradients on both branches."""
    safe = num / torch.where(ok, den, torch.ones_like(den))
    return torch.where(ok, safe, torch.as_tensor(fallback, dtype=num.dtype, device=num.device))


def _default_n_homotopy(n_layers: int) -> int:
    return max(1, min(n_layers, round(0.35 * n_layers)))


class _Basis:
    """Directions ``Q: (B, m, K)`` orthonormal for ``⟨u, v⟩ = (Au)·(Av)``, with ``H = AᵀA Q``.

    Vectors are only combined linearly, so ``H`` stays exact without new passes; a direction that
    is (numerically) in the span, or that a sample rejects, is stored as zeros.
    """

    def __init__(self, z: Tensor, memory: int) -> None:
        self.Q = z.new_zeros(z.shape[0], 0, z.shape[1])
        self.H = self.Q
        self.memory = memory

    def add(self, p: Tensor, h: Tensor, accept: Tensor) -> None:
        tiny = torch.finfo(p.dtype).tiny
        ph0 = _dot(p, h)
        for _ in range(2):  # Gram–Schmidt in the A-metric, twice ("twice is enough")
            a = torch.einsum("bmk,bk->bm", self.H, p)
            p = p - torch.einsum("bm,bmk->bk", a, self.Q)
            h = h - torch.einsum("bm,bmk->bk", a, self.H)
        ph = _dot(p, h)
        ok = accept & (ph > _DEPENDENT * torch.finfo(p.dtype).eps * ph0.clamp_min(tiny))
        scale = torch.where(ok, torch.where(ok, ph, torch.ones_like(ph)).rsqrt(), torch.zeros_like(ph))
        self.Q = torch.cat([self.Q, (p * scale)[:, None]], 1)[:, -self.memory :]
        self.H = torch.cat([self.H, (h * scale)[:, None]], 1)[:, -self.memory :]

    def step(self, r: Tensor) -> tuple[Tensor, Tensor]:
        """Minimizer of ``−r·d + ½‖A d‖²`` over the span: ``d = QᵀQ r`` and ``AᵀA d``."""
        c = torch.einsum("bmk,bk->bm", self.Q, r)
        return torch.einsum("bm,bmk->bk", c, self.Q), torch.einsum("bm,bmk->bk", c, self.H)

    def remove(self, mask: Tensor) -> None:
        """Restrict the span to codes vanishing on ``mask`` (one Householder reflection per entry)."""
        if self.Q.shape[1] == 0:
            return
        B, m, K = self.Q.shape
        for _ in range(int(mask.sum(1).max())):
            hit = mask.any(1)
            j = mask.to(torch.uint8).argmax(1)
            onehot = torch.nn.functional.one_hot(j, K).bool() & hit[:, None]
            mask = mask & ~onehot
            u = self.Q.gather(2, j[:, None, None].expand(B, m, 1)).squeeze(2)  # (B, m): coordinate j
            un = u.norm(dim=1, keepdim=True)
            act = hit[:, None] & (un > 0)
            uh = _safe_div(u, un, act)
            k = uh.abs().argmax(1)
            ek = torch.nn.functional.one_hot(k, m).to(u.dtype)
            s = torch.where(uh.gather(1, k[:, None]) < 0, -1.0, 1.0).to(u.dtype)
            v = uh + s * ek
            v = _safe_div(v, v.norm(dim=1, keepdim=True), act)
            # reflect so that column k carries all of coordinate j, then drop it
            Qn = (self.Q - 2 * v[:, :, None] * torch.einsum("bm,bmk->bk", v, self.Q)[:, None]) * (1 - ek)[:, :, None]
            Hn = (self.H - 2 * v[:, :, None] * torch.einsum("bm,bmk->bk", v, self.H)[:, None]) * (1 - ek)[:, :, None]
            Qn = torch.where(onehot[:, None, :], torch.zeros_like(Qn), Qn)
            self.Q = torch.where(act[:, :, None], Qn, self.Q)
            self.H = torch.where(act[:, :, None], Hn, self.H)


def _line_search(z: Tensor, g: Tensor, p: Tensor, h: Tensor, lam: Tensor) -> Tensor:
    """Exact ``argmin_{t∈[0,1]} F(z + t p)``, ``F = ½‖y − A·‖² + λ‖·‖₁``.

    ``g = Aᵀ(y − Az)``, ``h = AᵀAp``, ``lam: (B, 1)``.

    ``F`` is a convex piecewise quadratic in ``t``, with kinks where a coordinate crosses zero; its
    derivative ``a + t·pᵀh + Σ_{kinks < t} 2λ|p_j|`` is scanned over the sorted kinks. ``(B, 1)``.
    """
    pq = _dot(p, h)
    q_ok = pq > 0
    s0 = torch.where(z != 0, torch.sign(z), torch.sign(p))
    a = -_dot(g, p) + lam * _dot(s0, p)  # F'(0⁺)
    cross = z * p < 0
    kink = torch.where(cross, -_safe_div(z, p, cross), torch.full_like(z, 2.0)).clamp(max=2.0)
    kink, order = kink.sort(dim=1)
    jump = torch.cumsum((2 * lam * p.abs()).gather(1, order) * (kink < 2.0), 1)
    jump_before = torch.cat([torch.zeros_like(jump[:, :1]), jump[:, :-1]], 1)
    lo = torch.cat([torch.zeros_like(kink[:, :1]), kink[:, :-1]], 1)
    root = -_safe_div(a + jump_before, pq.expand_as(jump), q_ok.expand_as(jump), 4.0)
    inside = (root >= lo) & (root <= kink)
    at_kink = (a + kink * pq + jump_before < 0) & (a + kink * pq + jump >= 0)
    cand = torch.where(inside, root, kink)
    idx = torch.arange(kink.shape[1], device=z.device).expand_as(kink)
    first = torch.where(inside | at_kink, idx, kink.shape[1]).amin(1, keepdim=True)
    found = first < kink.shape[1]
    tail = -_safe_div(a + jump[:, -1:], pq, q_ok, 4.0)
    t = torch.where(found, cand.gather(1, first.clamp(max=kink.shape[1] - 1)), tail)
    return t.clamp(0.0, 1.0)


def _check_schedule(n_layers: int, n_homotopy: int | None, max_enter: int, memory: int | None) -> int:
    """Raise ``ValueError`` for bad schedule settings; return ``N_h``."""
    if int(n_layers) != n_layers or n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    n_h = _default_n_homotopy(n_layers) if n_homotopy is None else n_homotopy
    if not 1 <= n_h <= n_layers:
        raise ValueError(f"n_homotopy must be in [1, n_layers={n_layers}], got {n_homotopy}")
    if max_enter < 1:
        raise ValueError(f"max_enter must be >= 1, got {max_enter}")
    if memory is not None and memory < 1:
        raise ValueError(f"memory must be >= 1, got {memory}")
    return n_h


def homotopy_ista(
    y: Tensor,
    A: Tensor | LinearOperator,
    lambda_star: float | Tensor,
    n_layers: int = 12,
    positive: bool = False,
    *,
    return_stats: bool = False,
    n_homotopy: int | None = None,
    max_enter: int = 6,
    memory: int | None = None,
    certificate: bool = False,
) -> Tensor | tuple[Tensor, HomotopyStats] | tuple[Tensor, LassoCertificate]:
    """Unrolled active-set homotopy for ``min_z ½‖y − A z‖² + λ*‖z‖₁`` with an exact ``λ*`` (module docstring).

    Args:
        y: signals ``(B, d)`` for a dense ``A``, ``(B, *signal_shape)`` for an operator; float.
        A: dense dictionary ``(d, K)`` with unit-norm columns, or a ``LinearOperator``.
        lambda_star: ``λ* > 0``, float or 0-dim tensor (may require grad).
        n_layers: total number ``N ≥ 1`` of ``(A, Aᵀ)`` passes.
        positive: constrain ``z ≥ 0`` (one-sided threshold, ``λ_max = max(max Aᵀy, 0)``).
        return_stats: also return :class:`~gennet.sparse.solver.HomotopyStats` (costs one extra ``A z``).
        n_homotopy: number ``N_h`` of layers over which ``λ`` is brought down to ``λ*``,
            ``1 ≤ N_h ≤ N``; default ``round(0.35·N)`` (at least 1).
        max_enter: ``k``, at most this many new atoms per layer while ``λ > λ*`` (≥ 1).
        memory: keep at most this many search directions per sample (default: all, ``N``);
            the basis costs ``memory × code size`` per sample.
        certificate: return the code's :class:`~gennet.sparse.duality_gap.LassoCertificate` (duality gap, relative
            residual) instead of the stats.

    Returns:
        ``z: (B, K)`` or ``(B, *code_shape)``, same dtype as ``y`` (and the stats or the certificate if asked).
        ``y = 0`` rows give ``z = 0``.

    Raises:
        ValueError: ``lambda_star <= 0``, ``n_layers < 1``, ``n_homotopy`` outside ``[1, n_layers]``,
            ``max_enter < 1`` or ``memory < 1``.
    """
    lam = torch.as_tensor(lambda_star, dtype=y.dtype, device=y.device)
    if lam.ndim != 0:
        raise ValueError(f"lambda_star must be a float or a 0-dim tensor, got shape {tuple(lam.shape)}")
    if not bool(lam > 0):
        raise ValueError(f"lambda_star must be > 0, got {float(lam)}")
    n_h = _check_schedule(n_layers, n_homotopy, max_enter, memory)
    op = as_operator(A)
    z = _active_set(y, op, lam, n_layers, n_h, positive, max_enter, memory)
    return code_statistics(z, y, op, lam, positive, return_stats, certificate)


def _active_set(
    y: Tensor, op: LinearOperator, lam: Tensor, n_layers: int, n_h: int, positive: bool, max_enter: int,
    memory: int | None,
) -> Tensor:
    """The code of :func:`homotopy_ista` after its argument checks, ``(B, *code_shape)``."""
    B = y.shape[0]
    aty = op.adjoint(y)
    code_shape = aty.shape[1:]
    z, _ = _solve(y, op, aty.reshape(B, -1), lam, n_layers, n_h, positive, max_enter, memory or n_layers, code_shape)
    return z.reshape(B, *code_shape)


def _solve(
    y: Tensor,
    op: LinearOperator,
    g: Tensor,
    lam: Tensor,
    n_layers: int,
    n_h: int,
    positive: bool,
    max_enter: int,
    memory: int,
    code_shape: torch.Size,
) -> tuple[Tensor, Tensor]:
    """The layers of :func:`homotopy_ista` on flattened codes ``(B, K)``; ``g = Aᵀy`` on entry."""
    B, K = g.shape
    lam_prev = torch.maximum(max_correlation(g, positive)[:, None], lam)  # λ_0 = max(λ_max, λ*)
    z = torch.zeros_like(g)
    f = 0.5 * y.reshape(B, -1).square().sum(1, keepdim=True)  # ½‖y − Az‖², tracked exactly
    support = torch.zeros_like(g, dtype=torch.bool)
    sign = torch.zeros_like(g)
    pending = torch.zeros_like(support)  # wrong-signed coordinates, to be set to 0
    curvature = torch.ones_like(lam_prev)  # Rayleigh quotient of the last direction
    basis = _Basis(g, memory)
    history: list[tuple[Tensor, Tensor]] = []
    kk = min(max_enter + 1, K)
    for n in range(1, n_layers + 1):
        # ---- λ_n: geometric towards λ*, but at most `max_enter` new atoms (breakpoints of the path)
        g_abs = g if positive else g.abs()
        off = torch.where(support, torch.full_like(g_abs, -math.inf), g_abs)
        tau = off.topk(kk, dim=1).values[:, kk - 1 :]
        sched = lam_prev * (lam / lam_prev) ** (1.0 / max(1, n_h - n + 1))
        lam_n = torch.maximum(torch.minimum(torch.maximum(sched, tau), lam_prev), lam)
        enter = ~support & (g_abs > lam_n)
        sign = torch.where(enter, torch.sign(g).detach(), sign)
        support = support | enter
        free = support & ~pending
        r = torch.where(free, g - lam_n * sign, torch.zeros_like(g))
        pend = pending.any(1, keepdim=True)
        p = torch.where(pend, torch.where(pending, -z, r / curvature), r)

        # ---- the layer's single (A, Aᵀ) pass
        h = op.adjoint(op.forward(p.reshape(B, *code_shape))).reshape(B, K)
        gp, ph, pp = _dot(g, p), _dot(p, h), _dot(p, p)

        # ---- samples with pending coordinates: step along p (zeroes them at t = 1), safeguarded
        history = [*history[-(_NONMONOTONE - 1) :], (f, z.abs().sum(1, keepdim=True))]
        f_ref = torch.stack([fi + lam_n * li for fi, li in history]).amax(0)
        f_one = f - gp + 0.5 * ph + lam_n * (z + p).abs().sum(1, keepdim=True)
        t = torch.where(f_one <= f_ref, torch.ones_like(f), _line_search(z, g, p, h, lam_n))
        t = torch.where(pend, t, torch.zeros_like(t))
        f = f - t * gp + 0.5 * t * t * ph
        z = z + t * p
        g = g - t * h
        done = pending & (t >= 1)
        z = torch.where(done, torch.zeros_like(z), z)
        support, pending = support & ~done, pending & ~done
        sign = torch.where(done, torch.zeros_like(sign), sign)
        shrunk = curvature / t.clamp_min(0.1)
        rq = _safe_div(ph, pp, pp > 0).clamp_min(_RQ_MIN)
        curvature = torch.where(pend, torch.where(t < 1, shrunk, curvature), rq)

        # ---- other samples: p joins the basis; then every sample steps to the span's minimizer
        basis.add(p, h, ~pend)
        free = support & ~pending
        d, hd = basis.step(torch.where(free, g - lam_n * sign, torch.zeros_like(g)))
        f = f - _dot(g, d) + 0.5 * _dot(d, hd)
        z = z + d
        g = g - hd
        crossed = free & (sign * z < 0)
        basis.remove(crossed)
        pending = pending | crossed
        lam_prev = lam_n
    return torch.where(pending, torch.zeros_like(z), z), g


class ActiveSetHomotopy(LassoSolver, name="active_set"):
    """The pathwise active-set homotopy as a solver module (:func:`homotopy_ista`): ``n_layers`` unrolled layers,
    differentiated through, accurate to the Lasso solution.

    Args: those of :class:`~gennet.sparse.solver.LassoSolver`, and ``n_homotopy``, ``max_enter``, ``memory`` as in
    :func:`homotopy_ista`.

    Raises:
        ValueError: the base class's checks and those of :func:`homotopy_ista`.
    """

    def __init__(
        self, lambda_star: float = 0.1, n_layers: int = 12, positive: bool = True, learn_lambda: bool = False,
        lambda_min: float = 0.0, n_homotopy: int | None = None, max_enter: int = 6, memory: int | None = None,
    ) -> None:
        super().__init__(lambda_star, n_layers, positive, learn_lambda, lambda_min)
        self.n_homotopy = _check_schedule(self.n_layers, n_homotopy, max_enter, memory)
        self.max_enter, self.memory = int(max_enter), memory

    def solve(
        self, y: Tensor, op: LinearOperator, lam: Tensor, aty: Tensor | None, want_certificate: bool
    ) -> tuple[Tensor, LassoCertificate | None]:
        z = _active_set(y, op, lam, self.n_layers, self.n_homotopy, self.positive, self.max_enter, self.memory)
        return z, None
