"""The duality gap certificate (DESIGN §6b) against a brute-force Lasso solve on tiny problems.

Brute force: every support and sign pattern of a 6-atom dictionary, the KKT system solved on it, the
feasible candidates kept, the best objective taken — no iterative solver involved.
"""

import itertools

import numpy as np
import pytest
import torch

from gennet.sparse import lasso_objective
from gennet.sparse.duality_gap import duality_gap


def brute_force_lasso(A: np.ndarray, y: np.ndarray, lam: float, positive: bool) -> tuple[np.ndarray, float]:
    """The exact Lasso solution by enumeration of supports and signs (``K ≤ 8``): ``(z*, P*)``."""
    d, K = A.shape
    best, best_z = 0.5 * y @ y, np.zeros(K)
    signs = (1.0,) if positive else (-1.0, 1.0)
    for size in range(1, min(K, d) + 1):
        for support in itertools.combinations(range(K), size):
            A_S = A[:, support]
            for s in itertools.product(signs, repeat=size):
                z_S = np.linalg.solve(A_S.T @ A_S, A_S.T @ y - lam * np.array(s))
                if np.any(np.sign(z_S) != np.array(s)):
                    continue
                z = np.zeros(K)
                z[list(support)] = z_S
                value = 0.5 * np.sum((y - A @ z) ** 2) + lam * np.abs(z).sum()
                if value < best:
                    best, best_z = value, z
    return best_z, best


@pytest.mark.parametrize("positive", [False, True])
def test_gap_is_zero_at_the_brute_force_solution_and_bounds_suboptimality(positive):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 6))
    A /= np.linalg.norm(A, axis=0)
    Y = rng.standard_normal((4, 5))
    lam = 0.2
    for y in Y:
        z_star, p_star = brute_force_lasso(A, y, lam, positive)
        At, yt = torch.tensor(A), torch.tensor(y)[None]
        at_solution = duality_gap(yt, At, torch.tensor(z_star)[None], lam, positive)
        assert at_solution.primal.item() == pytest.approx(p_star, rel=1e-12)
        assert at_solution.dual.item() == pytest.approx(p_star, rel=1e-9)  # strong duality at the solution
        assert abs(at_solution.gap.item()) < 1e-9
        # Any other code: D(θ) ≤ P* ≤ P(z), so the gap bounds the relative sub-optimality from above.
        for _ in range(5):
            z = z_star + 0.3 * rng.standard_normal(6) * (rng.random(6) < 0.5)
            z = np.maximum(z, 0) if positive else z
            cert = duality_gap(yt, At, torch.tensor(z)[None], lam, positive)
            assert cert.dual.item() <= p_star + 1e-12
            assert cert.primal.item() == pytest.approx(float(lasso_objective(yt, At, torch.tensor(z)[None], lam)))
            assert cert.gap.item() >= (cert.primal.item() - p_star) / cert.primal.item() - 1e-12
            if not np.allclose(z, z_star):
                assert cert.gap.item() > 0  # the solution is unique (A_S has full column rank): z is not optimal


def test_gap_per_sample_lambda_scale_invariance_and_zero_signal():
    rng = np.random.default_rng(1)
    A = torch.tensor(rng.standard_normal((8, 12)))
    y = torch.tensor(rng.standard_normal((3, 8)))
    z = torch.tensor(np.abs(rng.standard_normal((3, 12))) * (rng.random((3, 12)) < 0.3))
    lam = torch.tensor([0.1, 0.5, 2.0], dtype=torch.float64)
    cert = duality_gap(y, A, z, lam, positive=True)
    for b in range(3):  # per-sample λ: the same as one sample at a time
        single = duality_gap(y[b : b + 1], A, z[b : b + 1], float(lam[b]), positive=True)
        assert torch.allclose(cert.gap[b], single.gap[0])
    scaled = duality_gap(7.0 * y, A, 7.0 * z, 7.0 * lam, positive=True)
    assert torch.allclose(scaled.gap, cert.gap, rtol=1e-10)
    zero = duality_gap(torch.zeros(1, 8, dtype=torch.float64), A, torch.zeros(1, 12, dtype=torch.float64), 0.1)
    assert zero.gap.item() == 0 and zero.relative_residual.item() == 0
    with pytest.raises(ValueError, match="lambda"):
        duality_gap(y, A, z, 0.0)
