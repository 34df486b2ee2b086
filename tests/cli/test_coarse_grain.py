"""The channels coarse-grain sampling keeps are the ones lowpass_image reads, for grey and colour embeddings."""

from __future__ import annotations

import pytest
import torch

from gennet.cli.coarse_grain import condition_indices, lowpass_channels
from gennet.errors import ConfigError
from gennet.models import CNNGenerator


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


def test_condition_values():
    assert condition_indices(3, 500) == [0, 1, 2]
    assert condition_indices([4, 0, 4], 500) == [4, 0, 4]
    for bad in (0, 501, [], [1, 500], [-1], "3", 2.5, True, [1.0]):
        with pytest.raises(ConfigError, match="condition"):
            condition_indices(bad, 500)
