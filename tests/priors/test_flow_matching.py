"""The flow-matching prior: it recovers the moments of a known mixture, its ODE is invertible, its conditional
sampler keeps the conditioned channels and follows the conditional law, and it saves and loads."""

from __future__ import annotations

import pytest
import torch

from gennet.priors import FlowMatchingPrior, load_prior

SHAPE = (2, 2, 2)  # 8 numbers per embedding


def mixture_embeddings(n: int, seed: int) -> torch.Tensor:
    """A known two-component mixture in R^8: channel 0 picks the mode (±2 everywhere), channel 1 = 0.5·channel 0 + noise."""
    g = torch.Generator().manual_seed(seed)
    sign = torch.randint(0, 2, (n, 1, 1, 1), generator=g).float() * 2 - 1
    low = 2 * sign + 0.3 * torch.randn(n, 1, 2, 2, generator=g)
    band = 0.5 * low + 0.2 * torch.randn(n, 1, 2, 2, generator=g)
    return torch.cat([low, band], dim=1)


@pytest.fixture(scope="module")
def prior() -> FlowMatchingPrior:
    torch.manual_seed(0)
    model = FlowMatchingPrior(SHAPE, width=32, depth=1, time_dim=32, condition_channels=[0], steps=16)
    return model.fit_(mixture_embeddings(2048, 0), steps=600, batch_size=256, lr=5e-3, ema=0.98)


def test_draws_recover_the_moments_of_the_mixture(prior):
    data = mixture_embeddings(4000, 1).flatten(1)
    draws = prior.sample(4000, torch.Generator().manual_seed(0)).flatten(1)
    torch.testing.assert_close(draws.mean(0), data.mean(0), atol=0.15, rtol=0)
    torch.testing.assert_close(torch.cov(draws.T), torch.cov(data.T), atol=0.2, rtol=0.1)
    # the two modes, not one Gaussian in between: few draws near 0, about half on each side
    low = draws[:, :4].mean(1)
    assert (low.abs() < 1).float().mean() < 0.05
    assert 0.4 < (low > 0).float().mean() < 0.6


def test_noise_space_round_trip(prior):
    w = mixture_embeddings(16, 2)
    back = prior.from_noise(prior.to_noise(w))
    assert (back - w).norm() / w.norm() < 0.05


def test_conditional_draws_keep_the_condition_and_follow_the_conditional_law(prior):
    w = mixture_embeddings(4, 3)
    draws = prior.condition([0]).sample(w, 500, torch.Generator().manual_seed(0))
    assert draws.shape == (4, 500, *SHAPE)
    torch.testing.assert_close(draws[:, :, 0], w[:, None, 0].expand(4, 500, 2, 2))
    # band | low ~ N(0.5·low, 0.2²) at every position
    torch.testing.assert_close(draws[:, :, 1].mean(1), 0.5 * w[:, 0], atol=0.1, rtol=0)
    assert 0.12 < float(draws[:, :, 1].std(1).mean()) < 0.3


def test_save_load_and_bad_input(prior, tmp_path):
    prior.save(tmp_path / "flow.pt")
    loaded = load_prior(tmp_path / "flow.pt")
    torch.testing.assert_close(loaded.sample(4, torch.Generator().manual_seed(7)), prior.sample(4, torch.Generator().manual_seed(7)))
    with pytest.raises(ValueError, match="fit it"):
        FlowMatchingPrior(SHAPE).sample(2)
    with pytest.raises(ValueError, match="condition_channels"):
        FlowMatchingPrior(SHAPE, condition_channels=[0, 1])
    with pytest.raises(ValueError, match="trained conditioned on channels"):
        prior.condition([1])
    with pytest.raises(ValueError, match="n >= 1"):
        prior.sample(0)
    (tmp_path / "junk.pt").write_bytes(b"not a prior")
    with pytest.raises(ValueError, match="not a readable prior file"):
        load_prior(tmp_path / "junk.pt")
