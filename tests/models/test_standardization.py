"""Streaming standardization: equal to a two-pass computation over the whole set, stable at large offsets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gennet.models import Standardization


def test_streaming_statistics_equal_two_pass_numpy():
    rng = np.random.default_rng(0)
    data = rng.normal(loc=[3.0, -1.0, 0.0], scale=[0.5, 2.0, 1e-3], size=(37, 5, 4, 3)).transpose(0, 3, 1, 2)
    module = Standardization(3)
    for chunk in np.array_split(data, [1, 8, 9, 30]):  # uneven batches, one of size 1
        module.update_(torch.tensor(chunk, dtype=torch.float32))
    values = data.astype(np.float32).astype(np.float64).transpose(1, 0, 2, 3).reshape(3, -1)
    assert int(module.count) == values.shape[1]
    np.testing.assert_allclose(module.mean.numpy(), values.mean(1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(module.std.numpy(), values.std(1), rtol=1e-10)
    out = module(torch.tensor(data, dtype=torch.float64)).transpose(0, 1).reshape(3, -1)
    np.testing.assert_allclose(out.mean(1).numpy(), 0, atol=1e-6)
    np.testing.assert_allclose(out.std(1, unbiased=False).numpy(), 1, rtol=1e-6)


def test_stable_where_the_naive_formula_fails():
    # values 1e8 + N(0, 1): E[x²] − E[x]² in float64 loses all digits of the variance (1e16 ≫ 1/eps·1)
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((1000, 1))
    module = Standardization(1)
    for chunk in np.array_split(noise, 10):
        module.update_(torch.tensor(1e8 + chunk, dtype=torch.float64))
    naive = np.sqrt(max(np.mean((1e8 + noise) ** 2) - np.mean(1e8 + noise) ** 2, 0.0))
    assert abs(naive - noise.std()) > 0.1  # the naive formula really fails here
    np.testing.assert_allclose(module.std.numpy(), [noise.std()], rtol=1e-6)


def test_merge_of_two_halves_equals_one_pass_and_identity_before_fit():
    x = torch.randn(10, 4, 6, 6, dtype=torch.float64) * 3 + 1
    whole, a, b = Standardization(4), Standardization(4), Standardization(4)
    assert not whole.fitted and torch.equal(whole(x), x)
    whole.update_(x)
    a.update_(x[:3])
    b.update_(x[3:])
    a.merge_(b.count, b.mean, b.m2)
    torch.testing.assert_close(a.mean, whole.mean, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(a.m2, whole.m2, rtol=1e-12, atol=1e-12)
    state = whole.state_dict()
    assert set(state) == {"count", "mean", "m2"}  # travels with the checkpoint
    whole.reset_()
    assert not whole.fitted


def test_bad_shapes():
    with pytest.raises(ValueError, match="num_channels"):
        Standardization(0)
    with pytest.raises(ValueError, match=r"\(B, 3, \.\.\.\)"):
        Standardization(3).update_(torch.zeros(2, 4, 5))


def test_pca_whitening_gives_identity_covariance_and_streams_exactly():
    rng = np.random.default_rng(2)
    mixing = rng.standard_normal((4, 4))
    data = torch.tensor(np.einsum("dc,bchw->bdhw", mixing, rng.standard_normal((50, 4, 3, 3))) + 5.0)
    module = Standardization(4, whiten=True)
    for chunk in data.split([7, 30, 13]):
        module.update_(chunk)
    values = data.transpose(0, 1).reshape(4, -1).numpy()
    np.testing.assert_allclose((module.m2 / module.count).numpy(), np.cov(values, bias=True), atol=1e-10)
    out = module(data).transpose(0, 1).reshape(4, -1).numpy()
    np.testing.assert_allclose(np.cov(out, bias=True), np.eye(4), atol=1e-8)
    variances = np.var(module(data[:1] * 0 + data.mean((0, 2, 3), keepdim=True)).numpy())
    assert variances < 1e-12  # the mean maps to 0
