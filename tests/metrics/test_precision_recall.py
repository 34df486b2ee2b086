"""Improved precision/recall (Kynkäänniemi et al. 2019) against a brute-force loop over the definition."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gennet.metrics import improved_precision_recall


def brute_force(fake: np.ndarray, real: np.ndarray, k: int) -> tuple[float, float]:
    def radii(points):  # distance of each point to its k-th nearest neighbour in its own set (itself excluded)
        return [sorted(np.linalg.norm(p - q) for j, q in enumerate(points) if j != i)[k - 1] for i, p in enumerate(points)]

    def coverage(queries, points):
        r = radii(points)
        return np.mean([any(np.linalg.norm(q - p) <= r[i] for i, p in enumerate(points)) for q in queries])

    return coverage(fake, real), coverage(real, fake)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_precision_and_recall_equal_the_definition_on_small_clouds(k):
    rng = np.random.default_rng(k)
    for shift, spread in ((0.0, 1.0), (1.5, 1.0), (0.5, 0.3), (4.0, 2.0)):
        real = rng.standard_normal((40, 3))
        fake = shift + spread * rng.standard_normal((31, 3))
        expected = brute_force(fake, real, k)
        ours = improved_precision_recall(torch.tensor(fake), torch.tensor(real), k)
        np.testing.assert_allclose(ours, expected, atol=1e-6)


def test_collapsed_samples_have_precision_without_recall_and_bad_input_is_refused():
    rng = np.random.default_rng(0)
    real = torch.tensor(rng.standard_normal((200, 4)))
    collapsed = real[:1] + 1e-3 * torch.randn(50, 4, dtype=torch.float64)  # mode collapse onto one real point
    precision, recall = improved_precision_recall(collapsed, real)
    assert precision == 1.0 and recall == pytest.approx(1 / 200)  # only real[0] is covered
    with pytest.raises(ValueError, match="at least k"):
        improved_precision_recall(real[:3], real, k=3)
    with pytest.raises(ValueError, match="expected features"):
        improved_precision_recall(real[:, :2], real)
    with pytest.raises(ValueError, match="k must be"):
        improved_precision_recall(real, real, k=0)
