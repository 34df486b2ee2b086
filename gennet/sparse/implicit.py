"""The derivative of the Lasso solution map, by implicit differentiation on its support.

For ``z*(θ) = argmin_z ½‖y − A z‖² + λ‖z‖₁`` (``z ≥ 0`` when positive), with ``θ = (y, A, λ)``, the
optimality conditions on the support ``S`` of ``z*`` with signs ``s`` are

    F(z, θ) = A_Sᵀ (y − A_S z_S) − λ s_S = 0,

and, where the support is locally constant (almost everywhere), the implicit function theorem gives
``∂z*_S/∂θ = M⁻¹ ∂F/∂θ`` with ``M = A_Sᵀ A_S`` (``z*`` is 0 off ``S``). So a loss ``ℓ(z*)`` has the gradient
``vᵀ ∂F/∂θ`` with ``v = M⁻¹ (∂ℓ/∂z)_S``: one linear solve on the support (conjugate gradients, each
iteration one product with the Gram matrix ``AᵀA`` — :func:`support_solve`; or ADMM, each iteration one shifted
solve ``(AᵀA + ρI)⁻¹`` — :func:`support_solve_splitting`), then one ordinary backward pass through ``F`` — whatever solver found
``z*`` and however many iterations it took. This is the gradient of task-driven dictionary learning
(Mairal, Bach & Ponce, "Task-driven dictionary learning", IEEE TPAMI 2012, Prop. 1 and §3.3); see also
Bertrand et al., "Implicit differentiation of Lasso-type models for hyperparameter optimization",
ICML 2020, §3.

:func:`lasso_implicit` returns ``z*`` itself (same values) carrying that derivative: ``z*`` in the forward pass,
``M⁻¹`` into ``F`` in the backward pass (one autograd function).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gennet.sparse.frequency_blocks import scaled_eye
from gennet.sparse.lasso import _per_sample
from gennet.sparse.operator import LinearOperator, as_operator

__all__ = ["lasso_implicit", "support_solve", "support_solve_splitting"]

#: default conjugate-gradient iterations of the backward solve. Measured on the trained default digit generator
#: (64 training digits): the dictionary's gradient is within 33% / 9.6% / 1.1% / 0.008% of the converged one
#: (200 iterations) after 5 / 10 / 20 / 40 iterations.
CG_ITERATIONS = 20
CG_RTOL = 1e-4  #: a sample's CG stops when its residual falls below this fraction of ‖b‖


def _dot(a: Tensor, b: Tensor) -> Tensor:
    return (a * b).flatten(1).sum(1)


@torch.no_grad()
def support_solve(op: LinearOperator, support: Tensor, b: Tensor, n_iter: int = CG_ITERATIONS, rtol: float = CG_RTOL) -> Tensor:
    """``v`` with ``P_S AᵀA P_S v = P_S b`` on the support ``S`` (0 elsewhere), by conjugate gradients.

    Args:
        op: the operator ``A``. support: boolean ``(B, *code_shape)``. b: ``(B, *code_shape)``.
        n_iter: this many iterations (one application of ``AᵀA`` each, through ``op.column_map``: three matrix
            products for a coarse convolution). rtol: per-sample stop on ``‖residual‖ ≤ rtol·‖P_S b‖`` (the sample's
            iterate is then frozen). A sample whose curvature ``pᵀAᵀAp`` is not positive (a numerically singular
            support) takes no step in that iteration.

    Returns:
        ``v: (B, *code_shape)`` (Hestenes & Stiefel 1952; exact in at most ``|S|`` iterations in exact arithmetic).

    The iterations run without host synchronization: every sample does ``n_iter`` of them, the frozen ones with
    zero steps. The system is solved for ``P_S b / ‖P_S b‖`` and the solution scaled back (CG is linear in ``b``), so
    that the stop is one scalar threshold for all samples (``‖r‖² ≤ rtol²``, ``F.threshold`` on ``‖r‖²``: a frozen
    sample's step numerator is 0). The inner products carry a ``tiny`` offset (``pᵀAᵀAp + tiny``, ``‖r‖² + tiny``)
    so that a sample with ``P_S b = 0`` stays at ``v = 0`` without dividing 0 by 0; the state ``(v, r)`` and
    ``(p, q)``, ``q = −P_S AᵀA p``, is stacked so that one operation updates each pair. Per iteration: the three
    products of ``AᵀA``, the mask, two inner products, two divisions, the curvature guard, the threshold and two
    fused updates — twelve operations (issue 16).
    """
    B = b.shape[0]
    G = op.column_map(B, "gram")
    mask = G.to_columns(support.to(b.dtype))
    vr = torch.zeros(2, *mask.shape, dtype=mask.dtype, device=mask.device)  # (v, r)
    pq = torch.empty_like(vr)  # (p, −P_S AᵀA p)
    r_out, p, q = vr[1], *pq.unbind()
    torch.mul(G.to_columns(b), mask, out=r_out)
    mask.neg_()
    vr_cols, pq_cols = vr.view(2, -1, B), pq.view(2, -1, B)
    (v_cols, r_cols), (p_cols, q_cols) = vr_cols.unbind(), pq_cols.unbind()
    # per-sample inner products as (B, 1, N) @ (B, N, 1) products with an offset; the columns are (N, B), contiguous
    N = r_cols.shape[0]
    r_row, r_col = r_cols.as_strided((B, 1, N), (1, 1, B)), r_cols.as_strided((B, N, 1), (1, B, 1))
    p_row, q_col = p_cols.as_strided((B, 1, N), (1, 1, B)), q_cols.as_strided((B, N, 1), (1, B, 1))
    tiny, minus_tiny = (scaled_eye(1, sign * torch.finfo(mask.dtype).tiny, mask.dtype, mask.device) for sign in (1, -1))
    scalars = torch.empty(6, B, dtype=mask.dtype, device=mask.device)
    rs, rs_new, curvature, live, step, beta = scalars.unbind()  # the first three also as (B, 1, 1):
    rs3, rs_new3, curvature3 = scalars[:3].view(3, B, 1, 1).unbind()
    norm = torch.baddbmm(tiny, r_row, r_col).sqrt_().view(B)  # ‖P_S b‖ (√tiny for P_S b = 0)
    r_cols.div_(norm)  # r = P_S b / ‖P_S b‖: ‖r‖² = 1, the stop is ‖r‖² ≤ rtol²
    p.copy_(r_out)
    torch.baddbmm(tiny, r_row, r_col, out=rs3)
    live.copy_(rs)  # ‖r‖² of a sample still iterating, 0 once it is below rtol²: its iterate is frozen from then on
    threshold = float(rtol) ** 2
    for _ in range(n_iter):
        G.apply(p, out=q)
        q.mul_(mask)  # q = −P_S AᵀA p
        torch.baddbmm(minus_tiny, p_row, q_col, out=curvature3)  # −pᵀAᵀAp − tiny
        torch.div(live, curvature, out=step)  # −(CG step), 0 for a frozen sample
        step.clamp_(max=0)
        vr_cols.addcmul_(pq_cols, step, value=-1)  # v += step·p, r −= step·AᵀAp
        torch.baddbmm(tiny, r_row, r_col, out=rs_new3)
        torch.threshold(rs_new, threshold, 0.0, out=live)  # a frozen sample's residual no longer changes: it stays frozen
        torch.div(rs_new, rs, out=beta)
        torch.addcmul(r_cols, p_cols, beta, out=p_cols)  # p = r + β p
        rs, rs_new, rs3, rs_new3 = rs_new, rs, rs_new3, rs3
    v_cols.mul_(norm)
    v = G.to_codes(vr[0])
    return v if v.dtype == b.dtype else v.to(b.dtype)


#: the splitting solve of the backward pass (:func:`support_solve_splitting`, the ADMM solver's backward): iterations,
#: penalty ``ρ`` and over-relaxation ``α``. Measured on default digit generators (64 training digits; the dictionary's
#: gradient against the converged one, 300 CG iterations): after 30 / 40 iterations within 1.4% / 0.48% (trained,
#: 8 epochs) and 0.32% / 0.10% (4 epochs) at ρ = 2, α = 1.9 — where 20 CG iterations give 0.58% and 0.17%; ρ = 1.5
#: and 2.5 did worse, and the forward's ρ = 3, α = 1.8 needed 50 iterations for 1.1% (trained).
SPLITTING_ITERATIONS = 40
SPLITTING_RHO = 2.0
SPLITTING_ALPHA = 1.9


@torch.no_grad()
def support_solve_splitting(op: LinearOperator, support: Tensor, b: Tensor, rho: float = SPLITTING_RHO,
                            alpha: float = SPLITTING_ALPHA, n_iter: int = SPLITTING_ITERATIONS) -> Tensor:
    """``v`` with ``P_S AᵀA P_S v = P_S b`` on the support ``S`` (0 elsewhere), by ADMM on the equivalent problem
    ``min_v ½ vᵀAᵀAv − bᵀv`` subject to ``v = 0`` off ``S`` — with the exact shifted solve ``(AᵀA + ρI)⁻¹`` that the
    forward ADMM uses (:mod:`gennet.sparse.admm`; one more per-frequency factorization, cached on the operator,
    unless ``ρ, α`` are the forward's).

    Args:
        op: the operator ``A`` (with ``solve_shifted`` / ``column_map``). support: boolean ``(B, *code_shape)``.
        b: ``(B, *code_shape)``. rho: penalty ``> 0``. alpha: over-relaxation in ``(0, 2)``.
        n_iter: iterations ``≥ 1``, each one application of ``(AᵀA + ρI)⁻¹`` (three matrix products for a coarse
            convolution) and one product with a ``±1`` mask: four operations, no inner product, no division.

    Returns:
        ``v: (B, *code_shape)`` in ``b``'s dtype, 0 off the support; ``b = 0`` gives ``v = 0`` exactly.

    ADMM (Boyd et al. 2011, §5.2 with the indicator of ``{v : v_{S^c} = 0}``; over-relaxed, §3.4.3):
    ``x ← (AᵀA + ρI)⁻¹(b + ρ(z − u))``, ``x̂ ← αx + (1 − α)z``, ``z ← P_S(x̂ + u)``, ``u ← u + x̂ − z``, from
    ``z = u = 0``. With ``s = x̂ + u`` (so ``z = P_S s``, ``u = (I − P_S) s``, ``z − u = m`` with ``m = (2P_S − I) s``:
    ``s`` with its off-support entries negated), one iteration is exactly the affine recursion of the forward
    (:func:`~gennet.sparse.admm.admm_iterations`, its ``|r|`` replaced by ``m``)

        s ← (1 − α/2)·s + T m + α S b,      T = αρ S − (α/2) I,   S = (AᵀA + ρI)⁻¹,

    and ``v = P_S s``. At a fixed point ``P_S(AᵀA v − b) = 0``. It converges for any ``ρ > 0`` (Douglas–Rachford);
    unlike conjugate gradients it has no per-sample stop: every sample does ``n_iter`` iterations.
    """
    B = b.shape[0]
    T = op.column_map(B, "solve", rho=rho, gain=alpha * rho, identity=-alpha / 2)
    inside = T.to_columns(support.to(b.dtype))
    sign = torch.mul(inside, 2).sub_(1)  # +1 on the support, −1 off it
    T.set_bias_from(T.to_columns(b), 1 / rho, alpha / (2 * rho))  # α S b
    s = T.bias_columns()  # the first iteration, from s = 0
    m = torch.empty_like(s)
    keep = 1 - alpha / 2
    for _ in range(n_iter - 1):
        torch.mul(s, sign, out=m)
        T.apply(m, out=s, beta=keep)
    v = T.to_codes(s.mul_(inside))
    return v if v.dtype == b.dtype else v.to(b.dtype)


class _SupportInverse(torch.autograd.Function):
    """``z`` itself in the forward pass (``z*``'s values); ``grad ↦ M⁻¹ grad`` on the support, into ``F``, in the
    backward pass (``z`` is detached: it gets no gradient)."""

    @staticmethod
    def forward(ctx, F: Tensor, z: Tensor, support: Tensor, op: LinearOperator, n_iter: int, rtol: float,
                splitting: tuple[float, float] | None) -> Tensor:
        ctx.save_for_backward(support)
        ctx.op, ctx.n_iter, ctx.rtol, ctx.splitting = op, n_iter, rtol, splitting
        return z.view_as(z)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (support,) = ctx.saved_tensors
        if ctx.splitting is None:
            v = support_solve(ctx.op, support, grad, ctx.n_iter, ctx.rtol)
        else:
            v = support_solve_splitting(ctx.op, support, grad, *ctx.splitting, n_iter=ctx.n_iter)
        return v, None, None, None, None, None, None


def lasso_implicit(
    z: Tensor,
    y: Tensor,
    A: Tensor | LinearOperator,
    lambda_: Tensor | float,
    cg_iter: int = CG_ITERATIONS,
    cg_rtol: float = CG_RTOL,
    return_residual: bool = False,
    splitting: tuple[float, float] | None = None,
    splitting_iter: int = SPLITTING_ITERATIONS,
):
    """``z`` (a Lasso solution, same values) with the derivative of the solution map in ``y``, ``A``, ``λ``.

    Args:
        z: the solution ``(B, K)`` / ``(B, *code_shape)`` from any solver (its graph, if any, is cut).
        y: signals; A: dense ``(d, K)`` or an operator; lambda_: float, 0-dim or ``(B,)`` — each may require grad.
        cg_iter, cg_rtol: at most this many conjugate-gradient iterations in the backward solve, and its
            per-sample relative tolerance (:func:`support_solve`).
        splitting: ``(ρ, α)``: solve the backward system by ADMM with the shifted solve ``(AᵀA + ρI)⁻¹``
            (:func:`support_solve_splitting`, ``splitting_iter`` iterations, four operators each; what the ADMM solver
            does, with :data:`SPLITTING_RHO`, :data:`SPLITTING_ALPHA`) instead of conjugate gradients (``None``:
            ``cg_iter``, ``cg_rtol``, twelve operators per iteration).
        return_residual: also return the residual ``y − A z`` and ``Aᵀ(y − A z)`` (detached), computed here anyway
            (the duality gap needs them: :func:`~gennet.sparse.duality_gap.certificate`).

    Returns:
        ``z`` with ``∂z_S/∂θ = (A_SᵀA_S)⁻¹ ∂F/∂θ`` on the support and 0 off it (module docstring). The
        derivative is exact where ``z`` is the exact solution with a locally constant support; for an
        approximate ``z`` it is the derivative at ``z``'s support and signs. (And the residual and its correlation.)
    """
    op = as_operator(A)
    z = z.detach() if z.requires_grad else z
    support = z != 0
    lam = _per_sample(torch.as_tensor(lambda_, dtype=y.dtype, device=y.device) if not isinstance(lambda_, Tensor) else lambda_, z)
    # F off the support is never used: the backward solve returns 0 there (sign(z) is 0 there too).
    F, residual, correlation = op.lasso_optimality(z, y, lam)
    n_iter = cg_iter if splitting is None else splitting_iter
    out = _SupportInverse.apply(F, z, support, op, n_iter, cg_rtol, splitting)
    return (out, residual, correlation) if return_residual else out
