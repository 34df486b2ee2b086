"""Lasso helpers and operators against direct numpy computations."""

import numpy as np
import pytest
import torch

from gennet.sparse import DenseOperator, LinearOperator, as_operator, lambda_max, lasso_objective, soft_threshold


class ReshapedOperator(LinearOperator):
    """A dense matrix seen with 2-D codes ``(K1, K2)`` and 2-D signals: exercises non-flat shapes."""

    def __init__(self, matrix, code_shape, signal_shape):
        self.matrix, self.code_shape, self.signal_shape = matrix, code_shape, signal_shape

    dtype = property(lambda self: self.matrix.dtype)
    device = property(lambda self: self.matrix.device)

    def forward(self, z):
        return (z.flatten(1) @ self.matrix.T).reshape(-1, *self.signal_shape)

    def adjoint(self, y):
        return (y.flatten(1) @ self.matrix).reshape(-1, *self.code_shape)


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((12, 30))
    y = rng.standard_normal((5, 12))
    z = rng.standard_normal((5, 30)) * (rng.random((5, 30)) < 0.3)
    return A, y, z


def test_soft_threshold_matches_numpy():
    t = np.linspace(-2, 2, 41)
    lam = np.array([0.3, 1.0])[:, None]
    expected = np.sign(t) * np.maximum(np.abs(t) - lam, 0)
    got = soft_threshold(torch.tensor(t).expand(2, -1), torch.tensor([0.3, 1.0], dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), expected)
    got_pos = soft_threshold(torch.tensor(t), 0.5, positive=True)
    np.testing.assert_allclose(got_pos.numpy(), np.maximum(t - 0.5, 0))


@pytest.mark.parametrize("positive", [False, True])
def test_lambda_max_matches_numpy(problem, positive):
    A, y, _ = problem
    c = y @ A
    expected = np.maximum(c.max(1), 0) if positive else np.abs(c).max(1)
    np.testing.assert_allclose(lambda_max(torch.tensor(y), torch.tensor(A), positive).numpy(), expected)
    op = ReshapedOperator(torch.tensor(A), (5, 6), (3, 4))
    got = lambda_max(torch.tensor(y).reshape(5, 3, 4), op, positive)
    np.testing.assert_allclose(got.numpy(), expected)


def test_lambda_max_is_the_zero_solution_threshold(problem):
    """For λ ≥ λ_max, z = 0 satisfies the KKT conditions: |Aᵀy| ≤ λ; below it does not."""
    A, y, _ = problem
    lam = lambda_max(torch.tensor(y), torch.tensor(A)).numpy()
    assert np.all(np.abs(y @ A).max(1) <= lam + 1e-12)
    assert np.all(np.abs(y @ A).max(1) > 0.99 * lam)


def test_lasso_objective_matches_numpy(problem):
    A, y, z = problem
    expected = 0.5 * ((y - z @ A.T) ** 2).sum(1) + 0.07 * np.abs(z).sum(1)
    got = lasso_objective(torch.tensor(y), torch.tensor(A), torch.tensor(z), 0.07)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    op = ReshapedOperator(torch.tensor(A), (5, 6), (3, 4))
    got_op = lasso_objective(torch.tensor(y).reshape(5, 3, 4), op, torch.tensor(z).reshape(5, 5, 6), 0.07)
    np.testing.assert_allclose(got_op.numpy(), expected, rtol=1e-12)


def test_norm_squared_exact_and_power_iteration(problem):
    A, _, _ = problem
    expected = np.linalg.norm(A, 2) ** 2
    assert float(DenseOperator(torch.tensor(A)).norm_squared()) == pytest.approx(expected, rel=1e-10)
    op = ReshapedOperator(torch.tensor(A, dtype=torch.float32), (5, 6), (3, 4))
    estimate = op.norm_squared()
    assert not estimate.requires_grad
    assert float(estimate) == pytest.approx(expected, rel=1e-3)


def test_operator_adjointness_and_wrapping(problem):
    A, y, z = problem
    op = as_operator(torch.tensor(A))
    assert isinstance(op, DenseOperator) and op.code_shape == (30,)
    assert as_operator(op) is op
    lhs = (op(torch.tensor(z)) * torch.tensor(y)).sum()
    rhs = (torch.tensor(z) * op.adjoint(torch.tensor(y))).sum()
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-12)
    with pytest.raises(TypeError, match="LinearOperator"):
        as_operator(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\(d, K\)"):
        DenseOperator(torch.zeros(3))
