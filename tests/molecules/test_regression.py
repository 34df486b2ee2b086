"""The regressors against brute force and scikit-learn: exact leave-one-out residuals (refitting without each
molecule), the unpenalized covariates, the quadratic model's products, kernel ridge's eigendecomposition against
the Cholesky path of large training sets, and one-line refusals."""

import numpy as np
import pytest
import torch

from gennet.errors import ConfigError
from gennet.molecules.regression import KernelRidge, QuadraticRidge, RidgeRegression, fit_regressor, kernel_matrix


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    n, F = 70, 9
    X = rng.normal(size=(n, F)) * rng.uniform(0.1, 10, size=F)  # features of very different scales
    C = rng.integers(0, 6, size=(n, 3)).astype(float)  # counts
    y = X @ rng.normal(size=F) + C @ [30.0, -20.0, 5.0] + 0.5 * X[:, 0] * X[:, 1] + 0.3 * rng.normal(size=n)
    return X, C, y


def _penalized_problem(model, X, C):
    """The ridge problem the model solves, written out: design [1, C, D(X)] and penalty on D's columns only."""
    D = model.design(torch.from_numpy(X)).numpy()
    A = np.c_[np.ones(len(X)), C]
    M = np.c_[A, D]
    Dr = D - A @ np.linalg.lstsq(A, D, rcond=None)[0]
    alpha = model.best_params_["alpha"] * np.linalg.svd(Dr, compute_uv=False).max() ** 2
    P = np.diag([0.0] * A.shape[1] + [alpha] * D.shape[1])
    return M, P


@pytest.mark.parametrize("model", [RidgeRegression(), QuadraticRidge(ranks=(2, 4))])
def test_coefficients_and_leave_one_out_are_exact(problem, model):
    X, C, y = problem
    model.fit(X, y, C)
    M, P = _penalized_problem(model, X, C)
    theta = np.linalg.solve(M.T @ M + P, M.T @ y)
    np.testing.assert_allclose(model.predict(X, C), M @ theta, rtol=0, atol=1e-8 * np.abs(y).max())
    brute = [y[i] - M[i] @ np.linalg.solve(M[k].T @ M[k] + P, M[k].T @ y[k]) for i in range(len(y))
             for k in [np.arange(len(y)) != i]]
    np.testing.assert_allclose(model.loo_residuals_, brute, rtol=1e-8, atol=1e-10)
    assert model.loo_mae_ == pytest.approx(np.abs(brute).mean())


def test_ridge_matches_scikit_learn(problem):
    """Without covariates, our ridge is scikit-learn's Ridge on the standardized features at the same α."""
    from sklearn.linear_model import Ridge

    X, _, y = problem
    ours = RidgeRegression(alphas=[1e-3]).fit(X, y)
    Z = ours.design(torch.from_numpy(X)).numpy()
    alpha = 1e-3 * np.linalg.svd(Z - Z.mean(0), compute_uv=False).max() ** 2
    theirs = Ridge(alpha=alpha).fit(Z, y)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(Z), rtol=1e-10)


def test_more_features_than_molecules(problem):
    """F > n: the leave-one-out formulas stay exact (no 1 − h_ii cancellation) and α → 0 interpolates."""
    X, C, y = problem
    wide = np.c_[X, np.random.default_rng(1).normal(size=(len(X), 150))]
    model = RidgeRegression(alphas=[1e-10, 1e-2]).fit(wide, y, C)
    assert model.best_params_["alpha"] == 1e-10
    M, P = _penalized_problem(model, wide, C)
    for i in (5, 40):
        keep = np.arange(len(y)) != i
        augmented = np.r_[M[keep], np.sqrt(P)]  # least squares by QR, not the normal equations (condition 1e10)
        theta = np.linalg.lstsq(augmented, np.r_[y[keep], np.zeros(len(P))], rcond=None)[0]
        assert model.loo_residuals_[i] == pytest.approx(y[i] - M[i] @ theta, rel=1e-6)


def test_quadratic_products_help_a_quadratic_target(problem):
    X, C, y = problem
    linear, quadratic = RidgeRegression().fit(X, y, C), QuadraticRidge(ranks=(2, 5, 9)).fit(X, y, C)
    assert quadratic.loo_mae_ < 0.85 * linear.loo_mae_  # the x0 x1 term is learnt (in part: it is no leading product)
    assert quadratic.best_params_["rank"] in (2, 5, 9)


def test_kernel_ridge_loo_and_the_cholesky_path(problem):
    from sklearn.kernel_ridge import KernelRidge as SklearnKernelRidge

    X, C, y = problem
    model = KernelRidge(widths=(1.0, 2.0, 4.0)).fit(X, y, C)
    residual = y - model.linear_.predict(X, C)
    Z = model._inputs(torch.from_numpy(X))
    K = kernel_matrix(Z, Z, "rbf", model.width_).numpy()
    brute = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        c = np.linalg.solve(K[np.ix_(keep, keep)] + model.alpha_ * np.eye(len(y) - 1), residual[keep])
        brute.append(residual[i] - K[i, keep] @ c)
    assert model.loo_mae_ == pytest.approx(np.abs(brute).mean(), rel=1e-8)
    # the eigendecomposition path (all molecules searched) and the Cholesky path (a training set larger than
    # select_max) each solve (K + α) c = r: scikit-learn's KernelRidge at the same width and α agrees with both
    large = KernelRidge(widths=(1.0, 2.0, 4.0), select_max=len(y) - 10).fit(X, y, C)
    for fitted in (model, large):
        residual = y - fitted.linear_.predict(X, C)
        theirs = SklearnKernelRidge(alpha=fitted.alpha_, kernel="rbf", gamma=0.5 / fitted.width_**2).fit(Z.numpy(), residual)
        np.testing.assert_allclose(fitted.predict(X, C) - fitted.linear_.predict(X, C), theirs.predict(Z.numpy()),
                                   rtol=1e-7, atol=1e-7)


def test_dressed_atoms_and_kernel(problem):
    """``linear=False``: the intercept and covariates by least squares (exact LOO of that part alone), the kernel
    on the raw features for their residuals."""
    X, C, y = problem
    model = KernelRidge(kernel="laplacian", standardize=False, linear=False).fit(X, y, C)
    A = np.c_[np.ones(len(y)), C]
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(model.linear_.predict(X[:, :0], C), A @ beta, rtol=1e-10, atol=1e-8)
    H = A @ np.linalg.pinv(A)
    np.testing.assert_allclose(model.linear_.loo_residuals_, (y - A @ beta) / (1 - np.diag(H)), rtol=1e-8)
    assert model.loo_mae_ < model.linear_.loo_mae_  # the kernel learns what the counts leave


def test_laplacian_kernel_matrix():
    A, B = torch.rand(4, 3, dtype=torch.float64), torch.rand(5, 3, dtype=torch.float64)
    expected = torch.exp(-(A[:, None] - B[None]).abs().sum(-1) / 0.7)
    torch.testing.assert_close(kernel_matrix(A, B, "laplacian", 0.7), expected)


def test_refusals(problem):
    X, C, y = problem
    with pytest.raises(ConfigError, match="unknown model 'forest'"):
        fit_regressor("forest", X, y)
    with pytest.raises(ConfigError, match="kernel must be rbf or laplacian"):
        fit_regressor("kernel", X, y, kernel="cosine")
    with pytest.raises(ValueError, match="fitted with 3 covariates"):
        RidgeRegression().fit(X, y, C).predict(X)
