"""The flow prior on principal coordinates: its subspace is scikit-learn's PCA subspace, its coordinates map back
exactly inside it, its draws recover the moments and the two modes of a known mixture that lives in a subspace, its ODE
is invertible, and it saves and loads."""

from __future__ import annotations

import pytest
import torch

from gennet.priors import PCAFlowPrior, load_prior
from gennet.priors import pca_flow

SHAPE = (3, 2, 2)  # 12 numbers per embedding


def subspace_mixture(n: int, seed: int) -> torch.Tensor:
    """A two-mode mixture on a 3-dimensional subspace of R^12 (fixed directions), plus tiny isotropic noise:
    coordinate 0 is ±2 (the mode) + N(0, 0.3²), coordinate 1 is 0.5·coordinate 0 + N(0, 0.2²), coordinate 2 is N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    directions = torch.linalg.qr(torch.randn(12, 3, generator=torch.Generator().manual_seed(99)))[0]  # fixed
    sign = torch.randint(0, 2, (n, 1), generator=g).float() * 2 - 1
    c0 = 2 * sign + 0.3 * torch.randn(n, 1, generator=g)
    c1 = 0.5 * c0 + 0.2 * torch.randn(n, 1, generator=g)
    c2 = torch.randn(n, 1, generator=g)
    w = torch.cat([c0, c1, c2], 1) @ directions.T + 1e-3 * torch.randn(n, 12, generator=g) + 0.7
    return w.reshape(n, *SHAPE)


@pytest.fixture(scope="module")
def prior() -> PCAFlowPrior:
    torch.manual_seed(0)
    model = PCAFlowPrior(SHAPE, dim=3, width=64, depth=2, time_dim=32, steps=16)
    return model.fit_(subspace_mixture(2048, 0), steps=600, batch_size=256, lr=5e-3, ema=0.98)


def test_principal_subspace_matches_scikit_learn():
    from sklearn.decomposition import PCA

    w = subspace_mixture(500, 4)
    model = PCAFlowPrior(SHAPE, dim=3).fit_statistics_(w)
    reference = PCA(n_components=3).fit(w.flatten(1).double().numpy())
    ours = model.basis.double()
    theirs = torch.from_numpy(reference.components_)
    torch.testing.assert_close(ours.T @ ours, theirs.T @ theirs, atol=1e-5, rtol=0)  # the same projector
    torch.testing.assert_close(float(model.explained_variance), float(reference.explained_variance_ratio_.sum()), atol=1e-6, rtol=0)
    torch.testing.assert_close(model.mean.double(), torch.from_numpy(reference.mean_), atol=1e-6, rtol=0)
    # inside the subspace (the mean plus a combination of the directions) the coordinates map back exactly
    inside = model.unstandardize(torch.randn(5, 3))
    torch.testing.assert_close(model.unstandardize(model.standardize(inside)), inside, atol=1e-5, rtol=0)
    # one scale for all directions: the coordinates have unit mean variance, unequal variances (not whitened)
    x = model.standardize(w)
    torch.testing.assert_close(float(x.var(0).mean()), 1.0, atol=1e-3, rtol=0)
    assert float(x.var(0).max() / x.var(0).min()) > 2


def test_a_subset_gives_the_directions_when_there_are_very_many_numbers(monkeypatch):
    w = subspace_mixture(2000, 5)
    full = PCAFlowPrior(SHAPE, dim=3).fit_statistics_(w).basis.double()
    monkeypatch.setattr(pca_flow, "PCA_MAX_ENTRIES", 12 * 300)  # 300 of the 2,000 embeddings
    part = PCAFlowPrior(SHAPE, dim=3).fit_statistics_(w).basis.double()
    torch.testing.assert_close(part.T @ part, full.T @ full, atol=2e-2, rtol=0)


def test_draws_recover_the_moments_and_the_modes(prior):
    data = subspace_mixture(4000, 1).flatten(1)
    draws = prior.sample(4000, torch.Generator().manual_seed(0)).flatten(1)
    assert draws.shape == (4000, 12)
    torch.testing.assert_close(draws.mean(0), data.mean(0), atol=0.1, rtol=0)
    torch.testing.assert_close(torch.cov(draws.T), torch.cov(data.T), atol=0.15, rtol=0.1)
    # two modes along the first principal direction, not one Gaussian between them
    first = (draws - data.mean(0)) @ prior.basis[0]
    assert (first.abs() < 1).float().mean() < 0.05
    assert 0.4 < (first > 0).float().mean() < 0.6


def test_noise_space_round_trip(prior):
    w = subspace_mixture(16, 2)
    noise = prior.to_noise(w)
    assert noise.shape == (16, 3)
    back = prior.from_noise(noise)
    assert (back - w).norm() / (w - prior.mean.reshape(SHAPE)).norm() < 0.05


def test_save_load_and_bad_input(prior, tmp_path):
    prior.save(tmp_path / "pca_flow.pt")
    loaded = load_prior(tmp_path / "pca_flow.pt")
    assert isinstance(loaded, PCAFlowPrior)
    torch.testing.assert_close(loaded.sample(4, torch.Generator().manual_seed(7)), prior.sample(4, torch.Generator().manual_seed(7)))
    with pytest.raises(ValueError, match="fit it"):
        PCAFlowPrior(SHAPE, dim=3).sample(2)
    with pytest.raises(ValueError, match="dim must be in"):
        PCAFlowPrior(SHAPE, dim=13)
    with pytest.raises(ValueError, match="needs more than 3 embeddings"):
        PCAFlowPrior(SHAPE, dim=3).fit_statistics_(subspace_mixture(3, 0))
    with pytest.raises(ValueError, match="expected noise"):
        prior.from_noise(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="expected embeddings"):
        prior.standardize(torch.zeros(2, 12))


def test_randomized_directions_capture_the_variance_of_exact_ones():
    # 300 embeddings of 128 numbers with a decaying spectrum: d = 8 goes through the randomized SVD (min(N, D) > 2·40)
    g = torch.Generator().manual_seed(6)
    spectrum = 0.8 ** torch.arange(128.0)
    w = (torch.randn(300, 128, generator=g) * spectrum.sqrt()) @ torch.linalg.qr(torch.randn(128, 128, generator=g))[0].T
    w = w.reshape(300, 2, 8, 8)
    model = PCAFlowPrior((2, 8, 8), dim=8).fit_statistics_(w)
    x = w.flatten(1).double() - w.flatten(1).double().mean(0)
    exact = torch.linalg.svd(x, full_matrices=False)[2][:8]
    captured = (x @ model.basis.double().T).square().sum() / (x @ exact.T).square().sum()
    assert 0.999 < float(captured) <= 1 + 1e-6  # the basis is stored in float32: orthonormal to ~1e-7
    again = PCAFlowPrior((2, 8, 8), dim=8).fit_statistics_(w)
    assert torch.equal(again.basis, model.basis)  # seeded: the same directions every time
