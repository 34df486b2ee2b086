"""The Gaussian mixture prior: EM against scikit-learn's GaussianMixture, the whitened PCA subspace, its draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture

from gennet.priors import GaussianMixturePrior, load_prior
from gennet.priors.em import gaussian_mixture_em, mixture_log_prob


def three_clusters(n: int, seed: int) -> torch.Tensor:
    """``n`` points of a known 3-component mixture in 4-D (distinct covariances), float64."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0, 0, 0], [4, 4, 0, 0], [0, 4, -4, 2]], dtype=torch.float64)
    mixing = torch.randn(3, 4, 4, generator=g, dtype=torch.float64) * 0.6 + torch.eye(4, dtype=torch.float64)
    k = torch.multinomial(torch.tensor([0.5, 0.3, 0.2]), n, replacement=True, generator=g)
    return centres[k] + torch.einsum("nij,nj->ni", mixing[k], torch.randn(n, 4, generator=g, dtype=torch.float64))


def test_log_prob_matches_sklearn_score_samples():
    y = three_clusters(600, 0)
    reference = GaussianMixture(3, covariance_type="full", random_state=0).fit(y.numpy())
    ours = mixture_log_prob(y, torch.from_numpy(reference.weights_), torch.from_numpy(reference.means_),
                            torch.from_numpy(reference.covariances_))
    np.testing.assert_allclose(ours.numpy(), reference.score_samples(y.numpy()), rtol=1e-10)


@pytest.mark.parametrize("seed", [0, 1])
def test_em_held_out_log_likelihood_within_one_percent_of_sklearn(seed):
    train, test = three_clusters(800, seed), three_clusters(400, seed + 10)
    fit = gaussian_mixture_em(train, 3, torch.Generator().manual_seed(seed), reg_covar=1e-6)
    reference = GaussianMixture(3, covariance_type="full", reg_covar=1e-6, random_state=seed).fit(train.numpy())
    ours = float(mixture_log_prob(test, fit.weights, fit.means, fit.covariances).mean())
    theirs = float(reference.score(test.numpy()))
    assert fit.converged
    assert abs(ours - theirs) <= 0.01 * abs(theirs), (ours, theirs)
    assert abs(fit.log_likelihood - reference.score(train.numpy())) <= 0.01 * abs(fit.log_likelihood)


def test_em_increases_the_likelihood_and_checks_its_input():
    y = three_clusters(300, 3)
    one = gaussian_mixture_em(y, 3, torch.Generator().manual_seed(0), max_iter=1)
    many = gaussian_mixture_em(y, 3, torch.Generator().manual_seed(0), max_iter=100)
    assert many.log_likelihood >= one.log_likelihood - 1e-9
    with pytest.raises(ValueError, match="num_components"):
        gaussian_mixture_em(y[:2], 3)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        gaussian_mixture_em(y.reshape(-1), 3)


def embeddings_of_mixture(n: int, seed: int, shape=(2, 3, 3)) -> torch.Tensor:
    """Embeddings ``(n, *shape)`` whose 18 numbers are a fixed linear image of the 4-D three-cluster mixture."""
    lift = torch.randn(4, int(np.prod(shape)), generator=torch.Generator().manual_seed(99), dtype=torch.float64)
    return (three_clusters(n, seed) @ lift).reshape(n, *shape).float()


def test_prior_on_a_low_rank_mixture_matches_sklearn_in_its_whitened_subspace(tmp_path):
    train, val = embeddings_of_mixture(900, 0), embeddings_of_mixture(300, 1)
    prior = GaussianMixturePrior((2, 3, 3), num_components=3, dim=4, reg_covar=1e-6).fit_(train, val)
    assert float(prior.explained_variance) == pytest.approx(1.0, abs=1e-5)  # the data live in 4 dimensions
    reference = GaussianMixture(3, covariance_type="full", reg_covar=1e-6, random_state=0).fit(prior.whiten(train).numpy())
    theirs = reference.score(prior.whiten(val).numpy())
    assert abs(float(prior.val_log_likelihood) - theirs) <= 0.01 * abs(theirs)
    # draws: the moments of the training embeddings (whitened: mean 0, identity covariance), within sampling error
    draws = prior.whiten(prior.sample(20000, torch.Generator().manual_seed(0)))
    assert draws.mean(0).abs().max() < 0.05
    torch.testing.assert_close(torch.cov(draws.T), torch.eye(4, dtype=torch.float64), atol=0.06, rtol=0)
    # temperature 0: every draw is a component mean
    modes = prior.whiten(prior.sample(50, torch.Generator().manual_seed(1), temperature=0.0))
    assert torch.cdist(modes, prior.means).min(1).values.max() < 1e-4
    prior.save(tmp_path / "mixture.pt")
    loaded = load_prior(tmp_path / "mixture.pt")
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    torch.testing.assert_close(loaded.sample(8, g()), prior.sample(8, g()))


def test_prior_refuses_bad_input():
    with pytest.raises(ValueError, match="num_components"):
        GaussianMixturePrior((2, 3, 3), num_components=0)
    prior = GaussianMixturePrior((2, 3, 3), dim=4)
    with pytest.raises(ValueError, match="fit it"):
        prior.sample(2)
    with pytest.raises(ValueError, match=r"expected embeddings \(B, 2, 3, 3\)"):
        prior.fit_(torch.zeros(10, 3, 3, 3))
    with pytest.raises(ValueError, match="more than 4 embeddings"):
        prior.fit_(torch.zeros(3, 2, 3, 3))
