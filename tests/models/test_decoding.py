"""Decoding in batches gives what one call of the decoder gives, clamped to [−1, 1], whatever the batch size."""

from __future__ import annotations

import pytest
import torch

from gennet.models import CNNGenerator
from gennet.models.decoding import decode_batches


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_batches_concatenate_to_one_decode(batch_size):
    torch.manual_seed(0)
    generator = CNNGenerator((16, 16), 1, J=2, L=4, A=4, width=8, min_width=8).eval()
    w = 3 * torch.randn(7, *generator.embedding_shape)  # large values: the clamp matters
    batches = list(decode_batches(generator, w, batch_size))
    assert [len(b) for b in batches] == [min(batch_size, 7 - s) for s in range(0, 7, batch_size)]
    with torch.no_grad():
        whole = generator.decode(w).float().clamp(-1, 1)
    torch.testing.assert_close(torch.cat(batches), whole)
    assert all(b.dtype == torch.float32 and not b.requires_grad for b in batches)
