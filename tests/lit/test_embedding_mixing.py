"""Embeddings mixed with another image's (a decoder trained for a prior's errors): each output lies on the segment from
its embedding towards another of the batch, at most ``strength`` of the way, uniformly; 0 is the identity; the module
refuses bad strengths."""

from __future__ import annotations

import pytest
import torch

from gennet.lit.embedding_mixing import mix_embeddings


def test_each_embedding_moves_towards_another_of_the_batch_at_most_strength_of_the_way():
    w = torch.randn(12, 5, 2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = mix_embeddings(w, 0.3, torch.Generator().manual_seed(1))
    assert out.shape == w.shape and out.dtype == w.dtype
    flat, moved = w.flatten(1), (out - w).flatten(1)
    for i in range(len(w)):
        if moved[i].norm() == 0:
            continue
        # brute force over the other embeddings: moved_i = t (w_j − w_i) for one j and 0 < t <= 0.3
        fits = []
        for j in range(len(w)):
            d = flat[j] - flat[i]
            t = float(moved[i] @ d / (d @ d))
            if torch.allclose(moved[i], t * d, atol=1e-12) and 0 < t <= 0.3:
                fits.append(j)
        assert len(fits) == 1, i


def test_the_fraction_is_uniform_on_0_strength_and_zero_is_the_identity():
    w = torch.zeros(20000, 1)
    w[::2] = 1.0  # pairs (0, 1): the displacement towards a 1 from a 0 is t itself
    out = mix_embeddings(w, 0.4, torch.Generator().manual_seed(2))
    t = out[1::2, 0][out[1::2, 0] > 0]
    assert abs(float(t.mean()) - 0.2) < 0.01 and float(t.max()) <= 0.4
    assert mix_embeddings(w, 0.0) is w
    with pytest.raises(ValueError, match="embedding_mix"):
        mix_embeddings(w, 1.5)


def test_the_generator_module_records_it_and_refuses_bad_values():
    from gennet.lit import GeneratorModule

    module = GeneratorModule(image_size=32, channels=1, encoder={"J": 2, "L": 4, "A": 4}, num_atoms=8, embedding_mix=0.3)
    assert module.hparams.embedding_mix == 0.3
    with pytest.raises(ValueError, match="embedding_mix"):
        GeneratorModule(image_size=32, channels=1, encoder={"J": 2, "L": 4, "A": 4}, num_atoms=8, embedding_mix=-0.1)
