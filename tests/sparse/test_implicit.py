"""The derivative of the Lasso solution map (gennet.sparse.implicit) against finite differences of exact solutions."""

import numpy as np
import pytest
import torch

from gennet.sparse.admm import admm_lasso
from gennet.sparse.dictionary import CoarseConvOperator
from gennet.sparse.implicit import lasso_implicit, support_solve, support_solve_splitting


SOLVES = {"cg": dict(cg_iter=200, cg_rtol=1e-12), "splitting": dict(splitting=(2.0, 1.9), splitting_iter=2000)}


@pytest.mark.parametrize("solve", sorted(SOLVES))
@pytest.mark.parametrize("positive", [False, True])
def test_gradient_matches_finite_differences_of_the_solution(positive, solve):
    """d⟨c, z*(y, A, λ)⟩ along a random direction (y, A, λ): implicit gradient vs central differences of
    solutions solved to machine precision (the support does not change for a small step) — with the backward solve
    by conjugate gradients and by ADMM with the shifted solve (the ADMM solver's GPU path)."""
    rng = np.random.default_rng(0 if solve == "cg" else 1)
    A = torch.tensor(rng.standard_normal((20, 40)))
    A = A / A.norm(dim=0)
    y = torch.tensor(rng.standard_normal((3, 20)))
    lam = torch.tensor(0.3, dtype=torch.float64)
    c = torch.tensor(rng.standard_normal((3, 40)))
    z = admm_lasso(y, A, lam, 3000, positive)
    leaves = [t.clone().requires_grad_(True) for t in (y, A, lam)]
    (lasso_implicit(z, *leaves[:2], leaves[2], **SOLVES[solve]) * c).sum().backward()
    directions = [torch.tensor(rng.standard_normal(t.shape)) for t in (y, A, lam)]
    eps = 1e-6

    def solution(sign: float) -> torch.Tensor:
        ys, As, ls = (t + sign * eps * d for t, d in zip((y, A, lam), directions))
        return admm_lasso(ys, As, ls, 3000, positive)

    numeric = float(((solution(1) - solution(-1)) / (2 * eps) * c).sum())
    analytic = float(sum((leaf.grad * d).sum() for leaf, d in zip(leaves, directions)))
    assert analytic == pytest.approx(numeric, rel=1e-6)
    assert torch.equal(lasso_implicit(z, y, A, lam, **SOLVES[solve]), z)  # the values are the solution's


def test_support_solve_is_the_restricted_inverse_on_a_convolution():
    torch.manual_seed(0)
    op = CoarseConvOperator(torch.randn(6, 10, 4, 4, dtype=torch.float64))
    support = torch.rand(2, 6, 4, 4) < 0.3
    b = torch.randn(2, 6, 4, 4, dtype=torch.float64)
    v = support_solve(op, support, b, n_iter=200, rtol=1e-12)
    assert bool((v[~support] == 0).all())
    residual = torch.where(support, op.adjoint(op.forward(v)) - b, torch.zeros_like(b))
    assert residual.norm() < 1e-8 * b.norm()
    # dense reference: the unrolled matrix restricted to the support of sample 0
    basis = torch.eye(6 * 16, dtype=torch.float64).reshape(-1, 6, 4, 4)
    matrix = op.forward(basis).reshape(96, -1).T
    S = support[0].flatten()
    expected = torch.linalg.solve(matrix[:, S].T @ matrix[:, S], b[0].flatten()[S])
    assert torch.allclose(v[0].flatten()[S], expected, atol=1e-8)


def test_support_solve_keeps_a_zero_right_hand_side_at_zero_and_freezes_at_rtol():
    """A sample with P_S b = 0 stays exactly 0 beside others (no 0/0); a loose rtol stops a sample early, and a frozen
    sample's residual stays below rtol·‖P_S b‖."""
    torch.manual_seed(0)
    op = CoarseConvOperator(torch.randn(6, 10, 4, 4, dtype=torch.float64))
    support = torch.rand(3, 6, 4, 4) < 0.4
    b = torch.randn(3, 6, 4, 4, dtype=torch.float64)
    b[1] = 0
    v = support_solve(op, support, b, n_iter=50, rtol=1e-3)
    assert bool(torch.isfinite(v).all()) and bool((v[1] == 0).all())
    residual = torch.where(support, op.adjoint(op.forward(v)) - b, torch.zeros_like(b))
    for i in (0, 2):
        assert residual[i].norm() <= 1e-3 * torch.where(support[i], b[i], 0).norm()


def test_support_solve_splitting_is_the_restricted_inverse_and_keeps_zero_at_zero():
    """The ADMM solve of the backward system converges to the restricted inverse (the CG test's dense reference); a
    sample with b = 0 stays exactly 0; the support's complement is exactly 0."""
    torch.manual_seed(0)
    op = CoarseConvOperator(torch.randn(6, 10, 4, 4, dtype=torch.float64) / 4)
    support = torch.rand(3, 6, 4, 4) < 0.3
    b = torch.randn(3, 6, 4, 4, dtype=torch.float64)
    b[1] = 0
    v = support_solve_splitting(op, support, b, rho=2.0, alpha=1.9, n_iter=400)
    assert bool((v[~support] == 0).all()) and bool((v[1] == 0).all())
    basis = torch.eye(6 * 16, dtype=torch.float64).reshape(-1, 6, 4, 4)
    matrix = op.forward(basis).reshape(96, -1).T
    for i in (0, 2):
        S = support[i].flatten()
        expected = torch.linalg.solve(matrix[:, S].T @ matrix[:, S], b[i].flatten()[S])
        assert torch.allclose(v[i].flatten()[S], expected, rtol=1e-8, atol=1e-10)
    # few iterations: an approximation that a CG-free backward converges to, not the solution yet
    rough = support_solve_splitting(op, support, b, rho=2.0, alpha=1.9, n_iter=3)
    assert not torch.allclose(rough, v, rtol=1e-3)


def test_admm_solver_backward_paths_agree_and_auto_follows_the_device():
    """ADMM's two backward solves (``path="cpu"``: conjugate gradients; ``"gpu"``: splitting) give the same gradient
    to their solves' accuracy on a coarse convolution, and ``"auto"`` takes the CPU path for CPU signals."""
    from gennet.sparse import ADMM

    torch.manual_seed(0)
    op = CoarseConvOperator(torch.randn(6, 10, 4, 4, dtype=torch.float64) / 4)
    y = torch.randn(3, 10, 4, 4, dtype=torch.float64)
    lam = torch.tensor(0.05, dtype=torch.float64)
    c = torch.randn(3, 6, 4, 4, dtype=torch.float64)
    grads = {}
    for path in ("cpu", "gpu"):
        solver = ADMM(lambda_star=0.1, n_layers=300, path=path)
        leaf = y.clone().requires_grad_(True)
        z, _ = solver.solve(leaf, op, lam, None, want_certificate=False)
        assert int((z != 0).sum()) > 0
        (z * c).sum().backward()
        grads[path] = leaf.grad
    assert torch.allclose(grads["cpu"], grads["gpu"], rtol=0, atol=1e-3 * float(grads["cpu"].abs().max()))
    assert ADMM(path="auto").resolved_path(y) == "cpu" and ADMM(path="gpu").resolved_path(y) == "gpu"
    with pytest.raises(ValueError, match="path"):
        ADMM(path="cuda")
