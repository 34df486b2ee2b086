import numpy as np
import pytest
import torch

from gennet.metrics import nearest_training_distances


def test_the_distances_agree_with_a_brute_force_loop():
    g = torch.Generator().manual_seed(0)
    samples, train, test = (torch.randn(n, 5, generator=g) for n in (7, 11, 9))
    out = nearest_training_distances(samples, train, test, quantile=0.3)
    d_s = [min(float(np.linalg.norm(s - t)) for t in train.numpy()) for s in samples.numpy()]
    d_t = [min(float(np.linalg.norm(s - t)) for t in train.numpy()) for s in test.numpy()]
    line = np.quantile(d_t, 0.3)  # numpy's default interpolation is torch.quantile's ("linear")
    assert out["copies"] == pytest.approx(np.mean(np.array(d_s) < line))
    assert out["median_sample"] == pytest.approx(float(torch.tensor(d_s).median()))
    assert out["median_test"] == pytest.approx(float(torch.tensor(d_t).median()))


def test_replayed_training_items_are_copies_and_new_draws_are_not():
    g = torch.Generator().manual_seed(1)
    train, test, new = (torch.randn(n, 8, generator=g) for n in (300, 400, 400))
    replayed = train[torch.randint(0, 300, (400,), generator=g)] + 1e-3 * torch.randn(400, 8, generator=g)
    assert nearest_training_distances(replayed, train, test)["copies"] == 1.0
    fresh = nearest_training_distances(new, train, test)["copies"]
    assert 0.01 < fresh < 0.12  # a held-out-like sampler: about the 5% of the definition


def test_bad_shapes_and_quantiles_are_refused():
    x = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="expected"):
        nearest_training_distances(x, torch.zeros(3, 5), x)
    with pytest.raises(ValueError, match="quantile"):
        nearest_training_distances(x, x, x, quantile=1.0)
