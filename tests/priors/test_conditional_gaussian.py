"""Coarse-grain sampling: the Gaussian model of w conditioned on some channels, against brute-force conditioning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gennet.priors import GaussianEmbedding
from tests.priors.test_gaussian import correlated_data

SHAPE = (3, 4, 4)  # C_w, h, w
CONDITIONED = [0, 2]


def brute_force(cov: np.ndarray, mean: np.ndarray, cond: np.ndarray, values: np.ndarray):
    """Textbook Gaussian conditioning with numpy: mean (B, D_b) and covariance (D_b, D_b) of w_b | w_l = values."""
    free = np.setdiff1d(np.arange(len(mean)), cond)
    gain = cov[np.ix_(free, cond)] @ np.linalg.inv(cov[np.ix_(cond, cond)])
    return mean[free] + (values - mean[cond]) @ gain.T, cov[np.ix_(free, free)] - gain @ cov[np.ix_(cond, free)]


def stationary_average(cov: np.ndarray) -> np.ndarray:
    """The empirical covariance averaged over all circular shifts: what a stationary model fits."""
    C, h, w = SHAPE
    cov = cov.reshape(*SHAPE, *SHAPE)
    shifts = [np.roll(cov, (a, b, a, b), axis=(1, 2, 4, 5)) for a in range(h) for b in range(w)]
    return np.mean(shifts, axis=0).reshape(C * h * w, C * h * w)


@pytest.mark.parametrize("covariance", ["full", "stationary"])
def test_conditional_mean_and_covariance_equal_brute_force_conditioning(covariance):
    data = correlated_data(500, SHAPE, seed=3, offset=2.0)
    model = GaussianEmbedding(SHAPE, covariance=covariance).fit_(data.split(128))
    flat = data.flatten(1).numpy()
    cov = np.cov(flat.T, bias=True)
    cov = cov if covariance == "full" else stationary_average(cov)
    C, h, w = SHAPE
    cond = np.concatenate([np.arange(c * h * w, (c + 1) * h * w) for c in CONDITIONED])
    conditions = correlated_data(3, SHAPE, seed=4).float()  # held-out embeddings
    mean, conditional_cov = brute_force(cov, flat.mean(0), cond, conditions.double().flatten(1).numpy()[:, cond])

    conditional = model.condition(CONDITIONED)
    ours = conditional.mean_of(conditions).double().flatten(1).numpy()
    free = np.setdiff1d(np.arange(C * h * w), cond)
    # the model keeps R (R Rᵀ = Σ) in float32, and Σ_ll⁻¹ amplifies that rounding by its condition number (~100 here)
    assert np.abs(ours[:, free] - mean).max() <= 1e-4 * np.abs(mean).max()
    assert np.abs(conditional.dense_covariance().numpy() - conditional_cov).max() <= 1e-4 * np.abs(conditional_cov).max()
    # the conditioned channels are the condition's, bit for bit, in every draw
    draws = conditional.sample(conditions, 50_000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(draws[:, :, CONDITIONED], conditions[:, None, CONDITIONED].expand(-1, 50_000, -1, -1, -1))
    # the draws have the conditional covariance and mean
    empirical = draws[1].double().flatten(1).numpy()[:, free]
    assert np.abs(np.cov(empirical.T) - conditional_cov).max() <= 0.04 * np.abs(conditional_cov).max()
    assert np.abs(empirical.mean(0) - mean[1]).max() <= 0.02 * np.sqrt(np.diag(conditional_cov)).max()
    # temperature scales the spread around the conditional mean
    cold = conditional.sample(conditions[:1], 20_000, generator=torch.Generator().manual_seed(1), temperature=0.5)
    spread = cold[0].double().flatten(1).numpy()[:, free].std(0) / empirical.std(0)
    assert abs(np.median(spread) - 0.5) < 0.02


def test_conditioning_on_an_informative_channel_shrinks_the_variance_and_bad_channels_are_refused():
    data = correlated_data(400, SHAPE, seed=5)
    model = GaussianEmbedding(SHAPE, covariance="full").fit_([data])
    conditional = model.condition([1])
    marginal = (model.factor.double() @ model.factor.double().T).diagonal()
    free = torch.cat([torch.arange(0, 16), torch.arange(32, 48)])
    assert (conditional.dense_covariance().diagonal() <= marginal[free] * (1 + 1e-6)).all()
    assert conditional.dense_covariance().trace() < 0.9 * marginal[free].sum()
    for channels in ([], [0, 1, 2], [3], [0, 0], [-1]):
        with pytest.raises(ValueError, match="channels must be"):
            model.condition(channels)
    with pytest.raises(ValueError, match="fit the Gaussian model"):
        GaussianEmbedding(SHAPE).condition([0])
    with pytest.raises(ValueError, match="expected embeddings"):
        conditional.sample(torch.zeros(2, 3, 8, 8), 2)
