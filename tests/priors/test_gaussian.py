"""Gaussian model of the embedding: exact streaming statistics, the covariance its samples have, persistence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gennet.priors import GaussianEmbedding


def correlated_data(n: int, shape=(2, 4, 4), seed: int = 0, offset: float = 0.0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    D = int(np.prod(shape))
    mixing = rng.standard_normal((D, D)) / np.sqrt(D)
    mean = rng.standard_normal(D) + offset
    return torch.tensor(mean + rng.standard_normal((n, D)) @ mixing.T).reshape(n, *shape)


def test_full_statistics_equal_numpy_and_samples_have_them():
    data = correlated_data(300, offset=1e6)  # a large offset: a naive E[ww^T] - E[w]E[w]^T would lose it
    model = GaussianEmbedding((2, 4, 4), covariance="full")
    model.fit_(data.split([1, 50, 249]))
    flat = data.flatten(1).numpy()
    np.testing.assert_allclose(model.mean.numpy(), flat.mean(0), rtol=1e-14)
    np.testing.assert_allclose((model.m2 / model.count).numpy(), np.cov(flat.T, bias=True), atol=1e-9)
    samples = model.sample(100_000, generator=torch.Generator().manual_seed(0)).double().flatten(1).numpy()
    target = np.cov(flat.T, bias=True)
    assert np.abs(np.cov(samples.T) - target).max() <= 0.03 * np.abs(target).max()
    assert np.abs(samples.mean(0) - flat.mean(0)).max() <= 0.02 * np.sqrt(np.diag(target)).max()


def test_stationary_model_is_the_translation_average_of_the_covariance():
    shape = (2, 4, 4)
    data = correlated_data(400, shape, seed=1)
    model = GaussianEmbedding(shape, covariance="stationary").fit_(data.split(64))
    # the covariance of a stationary model is the empirical one averaged over all circular shifts
    flat = data.flatten(1).numpy()
    cov = np.cov(flat.T, bias=True).reshape(*shape, *shape)
    average = np.mean([np.roll(cov, (a, b, a, b), axis=(1, 2, 4, 5)) for a in range(4) for b in range(4)], axis=0)
    samples = model.sample(100_000, generator=torch.Generator().manual_seed(1)).double().flatten(1).numpy()
    assert np.abs(np.cov(samples.T) - average.reshape(32, 32)).max() <= 0.03 * np.abs(average).max()
    # the mean stays a full map: temperature 0 gives the data mean exactly
    torch.testing.assert_close(model.sample(1, temperature=0.0)[0].double(), data.mean(0), rtol=1e-5, atol=1e-5)
    assert model.factor.numel() == 4 * 4 * 2 * 2  # h·w·C² numbers, not (h·w·C)²


def test_auto_choice_persistence_and_seeded_sampling(tmp_path):
    assert GaussianEmbedding((65, 8, 8)).covariance == "full"  # D = 4,160: MNIST at J=2
    assert GaussianEmbedding((291, 8, 8)).covariance == "stationary"  # D = 18,624: CelebA 64² at J=3
    model = GaussianEmbedding((3, 2, 2), covariance="stationary").fit_([correlated_data(50, (3, 2, 2))])
    path = tmp_path / "gaussian.pt"
    model.save(path)
    loaded = GaussianEmbedding.load(path)
    a = model.sample(5, generator=torch.Generator().manual_seed(3))
    b = loaded.sample(5, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    torch.save({"not": "a model"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt"):
        GaussianEmbedding.load(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="fit the model"):
        GaussianEmbedding((3, 2, 2)).sample(2)
    with pytest.raises(ValueError, match="expected embeddings"):
        model.update_(torch.zeros(2, 3, 4, 4))
