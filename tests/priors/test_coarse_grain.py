"""Coarse-grain sampling: the channels kept are the ones lowpass_image reads (grey and colour embeddings), the rows
hold the conditions and their low-pass images, and the decoded samples keep the conditions' low-pass channels."""

from __future__ import annotations

import pytest
import torch

from gennet.metrics.lowpass_agreement import lowpass_agreement
from gennet.models import CNNGenerator
from gennet.priors import GaussianEmbedding
from gennet.priors.coarse_grain import coarse_grain, lowpass_channels


@pytest.mark.parametrize("channels", [1, 3])
def test_lowpass_channels_are_exactly_what_lowpass_image_reads(channels):
    generator = CNNGenerator((16, 16), channels, J=2, L=4, A=4, width=8, min_width=8)
    w = torch.randn(2, *generator.embedding_shape)
    kept = lowpass_channels(generator.embedding_shape, channels)
    assert len(kept) == channels
    other = torch.randn_like(w)
    other[:, kept] = w[:, kept]
    torch.testing.assert_close(generator.lowpass_image(other), generator.lowpass_image(w))  # the rest does not matter
    changed = w.clone()
    changed[:, kept] += 1.0
    for c in range(channels):  # each kept channel drives its image channel
        assert (generator.lowpass_image(changed) - generator.lowpass_image(w))[:, c].abs().mean() > 0.1


def _fitted(channels: int = 1):
    torch.manual_seed(0)
    generator = CNNGenerator((16, 16), channels, J=2, L=4, A=4, width=8, min_width=8).eval()
    x = torch.rand(40, channels, 16, 16) * 2 - 1
    prior = GaussianEmbedding(generator.embedding_shape, covariance="full").fit_([generator.encode(x)])
    return generator, prior, x[:3]


def test_rows_hold_the_conditions_their_lowpass_and_seeded_samples():
    generator, prior, x = _fitted()
    rows = coarse_grain(generator, prior, x, samples_per_condition=4, seed=1)
    assert rows.shape == (3, 6, 1, 16, 16) and rows.dtype == torch.float32 and rows.abs().max() <= 1
    torch.testing.assert_close(rows[:, 0], x)
    torch.testing.assert_close(rows[:, 1], generator.lowpass_image(generator.encode(x)).clamp(-1, 1))
    assert not torch.equal(rows[:, 2], rows[:, 3])  # the draws differ (an untrained decoder: by little)
    torch.testing.assert_close(coarse_grain(generator, prior, x, 4, seed=1), rows, rtol=0, atol=0)  # seeded
    assert not torch.equal(coarse_grain(generator, prior, x, 4, seed=2), rows)


def test_lowpass_agreement_is_the_psnr_of_the_lowpass_images():
    """Against the formula 10 log10(4 / MSE) over all samples, and samples = reconstructions gives the same figure."""
    generator, prior, x = _fitted()
    rows = coarse_grain(generator, prior, x, samples_per_condition=2, seed=0)
    agreement = lowpass_agreement(generator, x, rows[:, 2:])
    target = generator.lowpass_image(generator.encode(x)).clamp(-1, 1)
    low = torch.stack([generator.lowpass_image(generator.encode(rows[:, 2 + k])) for k in range(2)], 1)
    mse = (low - target.unsqueeze(1)).pow(2).double().mean()
    assert agreement["samples"] == pytest.approx(float(10 * torch.log10(4 / mse)), rel=1e-5)
    reconstructions = generator.decode(generator.encode(x)).clamp(-1, 1)
    same = lowpass_agreement(generator, x, reconstructions.unsqueeze(1).expand(-1, 3, -1, -1, -1))
    assert same["samples"] == pytest.approx(same["reconstructions"], rel=1e-6)
