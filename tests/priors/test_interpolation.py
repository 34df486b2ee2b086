"""slerp: the endpoints at t = 0 and 1, equal angles between successive points, the norm kept between noises of one
norm, and linear interpolation for parallel pairs (Shoemake 1985)."""

from __future__ import annotations

import torch

from gennet.priors import slerp


def test_slerp_divides_the_angle_evenly_and_keeps_the_norm():
    torch.manual_seed(0)
    a, b = torch.randn(3, 2, 4, 4, dtype=torch.float64), torch.randn(3, 2, 4, 4, dtype=torch.float64)
    b = b / b.flatten(1).norm(dim=1)[:, None, None, None] * a.flatten(1).norm(dim=1)[:, None, None, None]  # same norms
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    path = slerp(a, b, t)
    assert path.shape == (3, 5, 2, 4, 4)
    torch.testing.assert_close(path[:, 0], a)
    torch.testing.assert_close(path[:, -1], b)
    torch.testing.assert_close(path.flatten(2).norm(dim=2), a.flatten(1).norm(dim=1)[:, None].expand(3, 5))
    flat = path.flatten(2)
    cos = (flat[:, 1:] * flat[:, :-1]).sum(2) / (flat[:, 1:].norm(dim=2) * flat[:, :-1].norm(dim=2))
    torch.testing.assert_close(cos, cos[:, :1].expand_as(cos))  # equal steps along the arc


def test_parallel_pairs_fall_back_to_linear_interpolation():
    a = torch.ones(1, 3, dtype=torch.float64)
    t = torch.tensor([0.0, 0.25, 1.0], dtype=torch.float64)
    torch.testing.assert_close(slerp(a, 2 * a, t)[0], (1 + t)[:, None] * a)
