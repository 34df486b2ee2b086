"""ADMM with exact shifted-Gram solves (gennet.sparse.admm) against scikit-learn's Lasso, and the solves themselves."""

import numpy as np
import pytest
import torch

from gennet.sparse import DenseOperator, PointwiseOperator
from gennet.sparse.admm import admm_lasso
from gennet.sparse.dictionary import CoarseConvOperator
from gennet.sparse.duality_gap import duality_gap
from gennet.sparse.problems import random_lasso_problem, sklearn_lasso


@pytest.mark.parametrize("K, C", [(12, 20), (20, 12), (40, 8)])  # the direct K×K solves and the Woodbury C×C one
def test_coarse_convolution_shifted_solve_is_exact(K, C):
    torch.manual_seed(0)
    op = CoarseConvOperator(torch.randn(K, C, 6, 5, dtype=torch.float64))  # odd width: the rfft's unpaired bins
    rhs = torch.randn(3, K, 6, 5, dtype=torch.float64)
    x = op.solve_shifted(rhs, 0.7)
    assert torch.allclose(op.adjoint(op.forward(x)) + 0.7 * x, rhs, atol=1e-10)


@pytest.mark.parametrize("K, C", [(12, 20), (50, 8)])  # the cached K×K Gram and the two products with Â, Âᴴ
def test_coarse_convolution_gram_is_adjoint_of_forward(K, C):
    torch.manual_seed(0)
    op = CoarseConvOperator(torch.randn(K, C, 6, 5, dtype=torch.float64))
    z = torch.randn(3, K, 6, 5, dtype=torch.float64)
    assert torch.allclose(op.gram(z), op.adjoint(op.forward(z)), atol=1e-10)


@pytest.mark.parametrize("d, K", [(10, 25), (25, 10)])
def test_dense_and_pointwise_shifted_solves_are_exact(d, K):
    torch.manual_seed(0)
    A = torch.randn(d, K, dtype=torch.float64)
    rhs = torch.randn(4, K, dtype=torch.float64)
    x = DenseOperator(A).solve_shifted(rhs, 0.3)
    assert torch.allclose(x @ A.T @ A + 0.3 * x, rhs, atol=1e-10)
    rhs_map = torch.randn(2, K, 3, 3, dtype=torch.float64)
    x_map = PointwiseOperator(A).solve_shifted(rhs_map, 0.3)
    gram = torch.einsum("dk,dl->kl", A, A)
    assert torch.allclose(torch.einsum("kl,bl...->bk...", gram, x_map) + 0.3 * x_map, rhs_map, atol=1e-10)


@pytest.mark.parametrize("positive", [False, True])
def test_admm_converges_to_sklearn_lasso(positive):
    A, Y = random_lasso_problem(64, 256, 10, positive, 6, 0.05, np.random.default_rng(0), dtype=torch.float64)
    lam = 0.05
    reference = sklearn_lasso(A, Y, lam, positive)
    z = admm_lasso(Y, A, lam, 400, positive)
    error = np.linalg.norm(z.numpy() - reference, axis=1) / np.linalg.norm(reference, axis=1)
    assert error.max() < 1e-4
    assert duality_gap(Y, A, z, lam, positive).gap.max() < 1e-6
    if positive:
        assert bool((z >= 0).all())


def test_admm_per_sample_lambda_scale_covariance_and_zero_rows():
    A, Y = random_lasso_problem(32, 96, 6, True, 3, 0.05, np.random.default_rng(1), dtype=torch.float64)
    lam = torch.tensor([0.02, 0.1, 0.3], dtype=torch.float64)
    z = admm_lasso(Y, A, lam, 60, positive=True)
    for b in range(3):
        assert torch.allclose(z[b], admm_lasso(Y[b : b + 1], A, float(lam[b]), 60, positive=True)[0], atol=1e-12)
    assert torch.allclose(admm_lasso(5.0 * Y, A, 5.0 * lam, 60, positive=True), 5.0 * z, rtol=1e-9, atol=1e-12)
    zero = admm_lasso(torch.zeros(1, 32, dtype=torch.float64), A, 0.1, 10)
    assert bool((zero == 0).all())


def test_admm_bad_arguments():
    A = torch.randn(4, 6)
    y = torch.randn(2, 4)
    for kwargs, match in [(dict(lambda_=0.0), "lambda"), (dict(n_iter=0), "n_iter"), (dict(rho=0.0), "rho"), (dict(alpha=2.0), "alpha")]:
        with pytest.raises(ValueError, match=match):
            admm_lasso(y, A, **{"lambda_": 0.1, "n_iter": 5, **kwargs})


@pytest.mark.parametrize("positive", [False, True])
def test_one_vector_recursion_is_textbook_admm_on_a_coarse_convolution(positive):
    """admm_lasso's single-state recursion through the per-frequency column map equals the (x, z, u) iterations of
    Boyd et al. §6.4 with a dense solve of the unrolled operator, iterate for iterate, for one code and for a batch."""
    torch.manual_seed(0)
    op = CoarseConvOperator(torch.randn(6, 10, 4, 3, dtype=torch.float64) / 4)
    y = torch.randn(3, 10, 4, 3, dtype=torch.float64)
    lam, rho, alpha, n = 0.3, 3.0, 1.8, 7
    basis = torch.eye(6 * 12, dtype=torch.float64).reshape(-1, 6, 4, 3)
    matrix = op.forward(basis).reshape(72, -1).T  # (signal, code)
    inverse = torch.linalg.inv(matrix.T @ matrix + rho * torch.eye(72, dtype=torch.float64))
    aty = y.reshape(3, -1) @ matrix
    z = u = torch.zeros_like(aty)
    for _ in range(n):
        x = (aty + rho * (z - u)) @ inverse
        x_hat = alpha * x + (1 - alpha) * z
        t = x_hat + u
        z = torch.relu(t - lam / rho) if positive else torch.sign(t) * torch.relu(t.abs() - lam / rho)
        u = u + x_hat - z
    batch = admm_lasso(y, op, lam, n, positive, rho=rho, alpha=alpha)
    assert torch.allclose(batch.reshape(3, -1), z, atol=1e-12)
    assert torch.allclose(admm_lasso(y[1:2], op, lam, n, positive, rho=rho, alpha=alpha), batch[1:2], atol=1e-12)


def test_real_blocks_are_the_embedding_of_the_complex_blocks():
    from gennet.sparse.frequency_blocks import embed

    torch.manual_seed(0)
    op = CoarseConvOperator(torch.randn(7, 5, 6, 5, dtype=torch.float64))
    assert torch.equal(op.real_blocks(), embed(op.complex_blocks()))


def test_block_factorizations_ignore_autocast():
    """The real embedding is autocast-eligible where the complex blocks were not: the factorizations switch it off."""
    torch.manual_seed(0)
    kernel = torch.randn(16, 24, 4, 4)
    reference = CoarseConvOperator(kernel).block_chain("solve", 3.0, 5.4, -0.9)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        chain = CoarseConvOperator(kernel).block_chain("solve", 3.0, 5.4, -0.9)
    assert chain[0].dtype == torch.float32 and torch.equal(chain[0], reference[0])
