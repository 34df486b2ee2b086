"""The Lasso solvers (active-set homotopy, geometric ISTC, ADMM) against scikit-learn's Lasso, KKT conditions, robustness and gradients."""

import numpy as np
import pytest
import torch

from gennet.sparse.problems import random_lasso_problem, sklearn_lasso
from gennet.sparse import (
    ISTC, SOLVERS, ActiveSetHomotopy, LassoSolver, LinearOperator, homotopy_ista, istc, lasso_objective, soft_threshold,
)


def make_problem(d, K, s, lam, positive, trials=6, noise=0.05, seed=0, dtype=torch.float32):
    """Unit-norm Gaussian dictionary, s-sparse codes + noise, unit-norm signals, sklearn reference."""
    A, Y = random_lasso_problem(d, K, s, positive, trials, noise, np.random.default_rng(seed), dtype)
    return A, Y, sklearn_lasso(A, Y, lam, positive)


def rel_err(z, ref):
    return np.linalg.norm(z.detach().double().numpy() - ref, axis=1) / np.linalg.norm(ref, axis=1)


def geometric_istc(y, A, lam, n_layers, positive):
    """Zarka et al.'s plain schedule (step 1), the baseline to beat."""
    c = y @ A
    lam_max = (c.amax(1).clamp_min(0) if positive else c.abs().amax(1))[:, None]
    z = torch.zeros_like(c)
    for n in range(1, n_layers + 1):
        z = soft_threshold(z + (y - z @ A.T) @ A, lam_max * (lam / lam_max) ** (n / n_layers), positive)
    return z


@pytest.fixture(scope="module", params=[False, True], ids=["signed", "positive"])
def lasso_problem(request):
    positive = request.param
    return positive, 0.05, *make_problem(200, 512, 15, 0.05, positive, seed=1 + positive)


def test_matches_sklearn_at_24_layers(lasso_problem):
    positive, lam, A, Y, ref = lasso_problem
    err = rel_err(homotopy_ista(Y, A, lam, 24, positive), ref)
    assert err.mean() <= 5e-3, err
    assert np.median(err) <= 5e-3, err


def test_beats_geometric_schedule_at_12_layers(lasso_problem):
    positive, lam, A, Y, ref = lasso_problem
    ours = rel_err(homotopy_ista(Y, A, lam, 12, positive), ref)
    geometric = rel_err(geometric_istc(Y, A, lam, 12, positive), ref)
    assert ours.mean() < geometric.mean(), (ours, geometric)


def test_converges_to_lasso_solution_as_layers_grow(lasso_problem):
    positive, lam, A, Y, ref = lasso_problem
    errors = [rel_err(homotopy_ista(Y, A, lam, n, positive), ref).mean() for n in (6, 12, 24, 48)]
    assert all(later <= 1.05 * earlier + 1e-5 for earlier, later in zip(errors, errors[1:])), errors
    assert errors[0] > 10 * errors[-1], errors
    assert rel_err(homotopy_ista(Y, A, lam, 48, positive), ref).max() <= 5e-3


CALIBRATED = [
    (128, 512, 10, 0.05),
    (200, 1024, 20, 0.05),
    (256, 1024, 30, 0.02),
    (128, 1024, 20, 0.1),
    (128, 1024, 10, 0.02),
]


@pytest.fixture(scope="module", params=[False, True], ids=["signed", "positive"])
def calibrated_problems(request):
    """The benchmark's calibrated regimes (d 128–256, K 512–1024, λ* 0.02–0.1), 8 trials each."""
    positive = request.param
    problems = [
        (lam, *make_problem(d, K, s, lam, positive, trials=8, seed=100 + i + 10 * positive))
        for i, (d, K, s, lam) in enumerate(CALIBRATED)
    ]
    return positive, problems


def test_worst_case_at_24_layers_on_calibrated_problems(calibrated_problems):
    positive, problems = calibrated_problems
    worst = max(rel_err(homotopy_ista(Y, A, lam, 24, positive), ref).max() for lam, A, Y, ref in problems)
    assert worst <= 5e-3, worst


def test_12_layers_beat_geometric_in_mean_and_worst_case(calibrated_problems):
    positive, problems = calibrated_problems
    ours = np.concatenate([rel_err(homotopy_ista(Y, A, lam, 12, positive), ref) for lam, A, Y, ref in problems])
    geometric = np.concatenate([rel_err(geometric_istc(Y, A, lam, 12, positive), ref) for lam, A, Y, ref in problems])
    assert ours.mean() <= 0.03 and ours.mean() < geometric.mean(), (ours.mean(), geometric.mean())
    assert ours.max() < geometric.max(), (ours.max(), geometric.max())


def test_memory_and_max_enter_options(lasso_problem):
    positive, lam, A, Y, ref = lasso_problem
    z_full = homotopy_ista(Y, A, lam, 24, positive)
    torch.testing.assert_close(homotopy_ista(Y, A, lam, 24, positive, memory=24), z_full)
    assert rel_err(homotopy_ista(Y, A, lam, 24, positive, memory=8), ref).mean() <= 2e-2
    assert rel_err(homotopy_ista(Y, A, lam, 24, positive, max_enter=1000), ref).mean() <= 2e-2


@pytest.mark.parametrize("positive", [False, True])
def test_kkt_conditions_at_many_layers(positive):
    A, Y, _ = make_problem(64, 160, 6, 0.05, positive, trials=4, seed=3, dtype=torch.float64)
    lam = 0.05
    z = homotopy_ista(Y, A, lam, 64, positive)
    corr = (Y - z @ A.T) @ A
    support = z != 0
    assert support.any(1).all()
    tol = 1e-6
    if positive:
        assert (z >= 0).all()
        assert (corr <= lam + tol).all()
    else:
        assert (corr.abs() <= lam + tol).all()
    torch.testing.assert_close(corr[support], lam * torch.sign(z[support]), atol=tol, rtol=0)


@pytest.mark.parametrize("positive", [False, True])
def test_no_blow_up_on_coherent_dictionary(positive):
    """d=128, K=1024, heavy noise, small λ*: supports near d/2; every N stays finite and descends."""
    lam = 0.02
    A, Y, ref = make_problem(128, 1024, 10, lam, positive, trials=6, noise=0.2, seed=4)
    f_zero = lasso_objective(Y, A, torch.zeros(Y.shape[0], 1024), lam)
    for n in (1, 2, 3, 5, 6, 9, 12, 24):
        z = homotopy_ista(Y, A, lam, n, positive)
        assert torch.isfinite(z).all(), n
        if n >= 3:  # N ≤ 2 takes a unit step near λ* without history: finite but crude
            assert (lasso_objective(Y, A, z, lam) <= f_zero).all(), n
            assert rel_err(z, ref).max() < 1.0, n
        if positive:
            assert (z >= 0).all()


def test_zero_signal_gives_zero_code_and_finite_gradients():
    A, Y, _ = make_problem(32, 64, 4, 0.05, False, trials=3, seed=5)
    Y = Y.clone()
    Y[1] = 0.0
    Y.requires_grad_(True)
    A = A.clone().requires_grad_(True)
    lam = torch.tensor(0.05, requires_grad=True)
    z, stats = homotopy_ista(Y, A, lam, 12, return_stats=True)
    assert torch.isfinite(z).all() and (z[1] == 0).all() and (z[0] != 0).any()
    assert torch.isfinite(stats.relative_residual)
    z.square().sum().backward()
    for t in (Y, A, lam):
        assert torch.isfinite(t.grad).all()


@pytest.mark.parametrize("positive", [False, True])
def test_gradcheck_unrolled_graph(positive):
    rng = np.random.default_rng(6)
    A = rng.standard_normal((6, 10))
    A /= np.linalg.norm(A, axis=0)
    A = torch.tensor(A, requires_grad=True)
    y = torch.tensor(rng.standard_normal((2, 6)), requires_grad=True)
    lam = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    z = homotopy_ista(y, A, lam, 10, positive)
    assert (z != 0).any()
    assert torch.autograd.gradcheck(lambda y, A, lam: homotopy_ista(y, A, lam, 10, positive), (y, A, lam))


def test_gradient_reaches_learnable_lambda_and_dictionary():
    A, Y, _ = make_problem(32, 64, 4, 0.05, True, trials=4, seed=7)
    A = A.clone().requires_grad_(True)
    layer = ActiveSetHomotopy(lambda_star=0.05, n_layers=12, positive=True, learn_lambda=True)
    z = layer(Y, A)
    ((Y - z @ A.T) ** 2).sum().backward()
    assert layer.log_lambda.grad is not None and layer.log_lambda.grad.abs() > 0
    assert A.grad is not None and A.grad.abs().sum() > 0


class ReshapedOperator(LinearOperator):
    def __init__(self, matrix, code_shape, signal_shape):
        self.matrix, self.code_shape, self.signal_shape = matrix, code_shape, signal_shape

    def forward(self, z):
        return (z.flatten(1) @ self.matrix.T).reshape(-1, *self.signal_shape)

    def adjoint(self, y):
        return (y.flatten(1) @ self.matrix).reshape(-1, *self.code_shape)


def test_operator_with_multidimensional_shapes_matches_dense():
    A, Y, _ = make_problem(48, 120, 5, 0.05, False, trials=3, seed=8, dtype=torch.float64)
    op = ReshapedOperator(A, (4, 5, 6), (6, 8))
    z_op = homotopy_ista(Y.reshape(3, 6, 8), op, 0.05, 16)
    assert z_op.shape == (3, 4, 5, 6)
    torch.testing.assert_close(z_op.reshape(3, 120), homotopy_ista(Y, A, 0.05, 16))


def test_stats_and_module():
    A, Y, ref = make_problem(64, 128, 5, 0.05, True, trials=4, seed=9)
    layer = ActiveSetHomotopy(lambda_star=0.05, n_layers=24, positive=True)
    assert "log_lambda" in dict(layer.named_buffers()) and not list(layer.parameters())
    z, stats = layer(Y, A, return_stats=True)
    nnz = (z != 0).sum(1).float()
    torch.testing.assert_close(stats.support_size, nnz.mean())
    torch.testing.assert_close(stats.sparsity, (nnz / 128).mean())
    torch.testing.assert_close(stats.lambda_final, torch.tensor(0.05))
    residual = ((Y - z @ A.T).norm(dim=1) / Y.norm(dim=1)).mean()
    torch.testing.assert_close(stats.relative_residual, residual)
    assert not any(t.requires_grad for t in vars(stats).values())
    torch.testing.assert_close(z, homotopy_ista(Y, A, layer.lambda_star, 24, True))  # the module is the function
    floored = ActiveSetHomotopy(lambda_star=0.01, lambda_min=0.05, learn_lambda=True)
    assert float(floored.lambda_star.detach()) == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(lambda_star=0.0), "lambda_star must be > 0, got 0.0"),
        (dict(lambda_star=-0.1), "lambda_star must be > 0, got -0.1"),
        (dict(n_layers=0), "n_layers must be an integer >= 1, got 0"),
        (dict(lambda_min=-1.0), "lambda_min must be >= 0"),
    ],
)
@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_module_rejects_bad_arguments(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SOLVERS[name](**kwargs)


def test_function_rejects_bad_arguments():
    A, Y = torch.randn(8, 16), torch.randn(2, 8)
    with pytest.raises(ValueError, match="lambda_star must be > 0"):
        homotopy_ista(Y, A, 0.0)
    with pytest.raises(ValueError, match="n_layers must be >= 1, got 0"):
        homotopy_ista(Y, A, 0.1, n_layers=0)
    with pytest.raises(ValueError, match="n_homotopy"):
        homotopy_ista(Y, A, 0.1, n_layers=4, n_homotopy=5)
    with pytest.raises(ValueError, match="max_enter must be >= 1"):
        homotopy_ista(Y, A, 0.1, max_enter=0)
    with pytest.raises(ValueError, match="memory must be >= 1"):
        homotopy_ista(Y, A, 0.1, memory=0)


def test_istc_method_is_the_geometric_schedule_with_exact_step(lasso_problem):
    """ISTC: Zarka et al.'s geometric ISTC with step 1/‖A‖² — checked against a direct numpy
    transcription, approaching the Lasso solution as N grows, never blowing up."""
    positive, lam, A, Y, ref = lasso_problem
    A64, Y64 = A.double().numpy(), Y.double().numpy()
    eta = 1.0 / np.linalg.norm(A64, 2) ** 2
    c = Y64 @ A64
    lam0 = np.maximum(c.max(1).clip(0) if positive else np.abs(c).max(1), lam)[:, None]
    z = np.zeros_like(c)
    for n in range(1, 13):
        t = z + eta * (Y64 - z @ A64.T) @ A64
        threshold = eta * lam0 * (lam / lam0) ** (n / 12)
        z = np.maximum(t - threshold, 0) if positive else np.sign(t) * np.maximum(np.abs(t) - threshold, 0)
    ours = istc(A.new_tensor(Y64).double(), A.double(), lam, 12, positive)
    np.testing.assert_allclose(ours.numpy(), z, atol=1e-10)
    errors = [rel_err(istc(Y, A, lam, n, positive), ref).mean() for n in (12, 48, 192)]
    assert errors[2] < errors[1] < errors[0] and np.isfinite(errors).all(), errors
    module = ISTC(lambda_star=lam, n_layers=12, positive=positive)
    assert torch.allclose(module(Y.double(), A.double()), ours)


def test_every_solver_shares_the_interface_and_solves_the_lasso(lasso_problem):
    """Each registered solver is a LassoSolver with the same call; with enough layers each approaches the Lasso
    solution of scikit-learn (ADMM needs a dense operator's exact shifted solve, which DenseOperator has)."""
    positive, lam, A, Y, ref = lasso_problem
    assert set(SOLVERS) == {"admm", "fista", "istc", "active_set"}
    for name, cls in SOLVERS.items():
        solver = cls(lambda_star=lam, n_layers=200, positive=positive)
        assert isinstance(solver, LassoSolver) and solver.name == name
        with torch.no_grad():
            z, certificate = solver(Y.double(), A.double(), certificate=True)
        assert rel_err(z, ref).mean() < 0.05, name
        assert float(certificate.gap.max()) < 0.05, name


def test_checkpointed_istc_layers_give_the_same_values_and_gradients():
    from gennet.models import SparseInverseGenerator

    torch.manual_seed(0)
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    results = []
    for checkpoint in (False, True):
        solver = ISTC(lambda_star=0.2, n_layers=6, checkpoint_layers=checkpoint)
        model = SparseInverseGenerator((32, 32), 1, J=2, num_atoms=16, seed=0, solver=solver)
        loss = (model(x) - x).square().mean()
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    (loss_a, grads_a), (loss_b, grads_b) = results
    torch.testing.assert_close(loss_a, loss_b, rtol=0, atol=0)
    assert len(grads_a) == len(grads_b) == 2  # the band atoms of J = 2 scales (the low-pass channel is not coded)
    for a, b in zip(grads_a, grads_b):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)
    with pytest.raises(TypeError, match="checkpoint_layers"):
        ActiveSetHomotopy(checkpoint_layers=True)  # only ISTC is unrolled with checkpoints
    with pytest.raises(ValueError, match="LassoSolver"):
        SparseInverseGenerator((32, 32), 1, J=2, solver="istc")  # a solver object, not a name
