"""FISTA (Beck & Teboulle 2009) as a Lasso solver: a direct numpy transcription, convergence to scikit-learn's
Lasso, the acceleration over ISTA that defines it, gradients through the unrolled steps, its place in the registry."""

import numpy as np
import pytest
import torch

from gennet.sparse import FISTA, SOLVERS, lasso_objective, solver_class
from gennet.sparse.problems import random_lasso_problem, sklearn_lasso


@pytest.fixture(scope="module", params=[False, True], ids=["signed", "positive"])
def problem(request):
    positive = request.param
    A, Y = random_lasso_problem(120, 300, 10, positive, 4, 0.05, np.random.default_rng(7 + positive), torch.float64)
    return positive, 0.05, A, Y, sklearn_lasso(A, Y, 0.05, positive)


def _threshold(t, threshold, positive):
    return np.maximum(t - threshold, 0) if positive else np.sign(t) * np.maximum(np.abs(t) - threshold, 0)


def _numpy_fista(A, Y, lam, n, positive, accelerate=True):
    eta = 1.0 / np.linalg.norm(A, 2) ** 2
    z = np.zeros((Y.shape[0], A.shape[1]))
    v, t = z, 1.0
    for _ in range(n):
        z_next = _threshold(v + eta * (Y - v @ A.T) @ A, eta * lam, positive)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2 if accelerate else 1.0
        v = z_next + ((t - 1) / t_next) * (z_next - z) if accelerate else z_next
        z, t = z_next, t_next
    return z


def test_is_the_textbook_recursion(problem):
    positive, lam, A, Y, _ = problem
    ours = FISTA(lambda_star=lam, n_layers=25, positive=positive)(Y, A)
    np.testing.assert_allclose(ours.numpy(), _numpy_fista(A.numpy(), Y.numpy(), lam, 25, positive), rtol=1e-6, atol=1e-8)


def test_converges_to_sklearn_and_beats_ista(problem):
    positive, lam, A, Y, ref = problem
    errors = []
    for n in (20, 100, 1000):
        z = FISTA(lambda_star=lam, n_layers=n, positive=positive)(Y, A)
        errors.append(float(np.linalg.norm(z.numpy() - ref) / np.linalg.norm(ref)))
    assert errors[2] < errors[1] < errors[0] and errors[2] < 1e-3, errors
    # the acceleration: after the same number of steps, a lower Lasso objective than ISTA's (Beck & Teboulle, Thm 4.4)
    optimum = lasso_objective(Y, A, torch.from_numpy(ref), lam)
    fista = lasso_objective(Y, A, FISTA(lambda_star=lam, n_layers=40, positive=positive)(Y, A), lam)
    ista = lasso_objective(Y, A, torch.from_numpy(_numpy_fista(A.numpy(), Y.numpy(), lam, 40, positive, False)), lam)
    assert bool(((fista - optimum) < 0.5 * (ista - optimum)).all()), (fista - optimum, ista - optimum)
    _, certificate = FISTA(lambda_star=lam, n_layers=1000, positive=positive)(Y, A, certificate=True)
    assert float(certificate.gap.max()) < 1e-4


def test_gradients_through_the_steps_and_registry():
    generator = torch.Generator().manual_seed(0)
    A = torch.nn.functional.normalize(torch.randn(6, 9, dtype=torch.float64, generator=generator), dim=0)
    Y = torch.randn(2, 6, dtype=torch.float64, generator=generator)
    solver = FISTA(lambda_star=0.1, n_layers=5, positive=False, learn_lambda=True).double()
    # the step 1/‖A‖² carries no gradient (as ISTC's), so the exact derivative is checked in y and in λ*
    assert torch.autograd.gradcheck(lambda y: solver(y, A), (Y.requires_grad_(),))
    loss = lambda: solver(Y, A.requires_grad_()).square().sum()  # noqa: E731
    loss().backward()
    step = 1e-6
    with torch.no_grad():
        solver.log_lambda += step
        up = loss()
        solver.log_lambda -= 2 * step
        down = loss()
        solver.log_lambda += step
    torch.testing.assert_close(solver.log_lambda.grad, (up - down) / (2 * step), rtol=1e-5, atol=1e-8)
    assert A.grad is not None and bool(torch.isfinite(A.grad).all())
    assert SOLVERS["fista"] is FISTA is solver_class("gennet.sparse.FISTA") is solver_class("fista")
