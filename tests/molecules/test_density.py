"""The closed-form Fourier density against Gaussians summed voxel by voxel (brute force, with the periodic copies
up to two boxes away), the channels, and the fit check."""

import math

import pytest
import torch

from gennet.molecules.density import align_principal_axes, charge_channels, check_fits, density


def _brute_force(positions, weights, shape, spacing, sigma):
    axes = [(torch.arange(n, dtype=torch.float64) - n / 2) * spacing for n in shape]
    u = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1)  # (M, N, O, 3)
    box = torch.tensor([n * spacing for n in shape], dtype=torch.float64)
    out = torch.zeros(weights.shape[-1], *shape, dtype=torch.float64)
    for r, w in zip(positions, weights):
        for shift in torch.cartesian_prod(*[torch.arange(-2.0, 3.0)] * 3):
            d2 = ((u - r - shift * box) ** 2).sum(-1)
            g = torch.exp(-0.5 * d2 / sigma**2) / (2 * math.pi * sigma**2) ** 1.5
            out += w[:, None, None, None] * g
    return out


@pytest.mark.parametrize("spacing,sigma", [(0.5, 1.0), (0.6, 0.7)])
def test_closed_form_density_matches_brute_force(spacing, sigma):
    """Equal up to the Gaussian's spectrum beyond the Nyquist frequency, exp(−π²σ²/2h²) of the peak."""
    shape = (12, 10, 8)
    positions = torch.tensor([[[0.1, -0.4, 0.3], [1.2, 0.5, -0.6], [-0.9, 0.8, 0.2]]], dtype=torch.float64)
    z = torch.tensor([[6, 8, 1]])
    weights = charge_channels(z)
    got = density(positions, weights, shape, spacing, sigma)[0]
    expected = _brute_force(positions[0], weights[0], shape, spacing, sigma)
    bound = max(1e-9, 2 * math.exp(-(math.pi**2) * sigma**2 / (2 * spacing**2)))
    assert (got - expected).abs().max() <= bound * expected.abs().max()
    # ∫ x = Σ charges per channel (full 15, valence 11, core 4)
    torch.testing.assert_close(got.sum((1, 2, 3)) * spacing**3, weights[0].sum(0))


def test_channels():
    w = charge_channels(torch.tensor([[1, 6, 7, 8, 9, 0]]))
    torch.testing.assert_close(w[0, :, 0], torch.tensor([1.0, 6, 7, 8, 9, 0], dtype=torch.float64))
    torch.testing.assert_close(w[0, :, 1], torch.tensor([1.0, 4, 5, 6, 7, 0], dtype=torch.float64))
    torch.testing.assert_close(w[..., 0], w[..., 1] + w[..., 2])
    with pytest.raises(ValueError, match="atomic number 17"):
        charge_channels(torch.tensor([[6, 17]]))
    with pytest.raises(ValueError, match="channels"):
        charge_channels(torch.tensor([[6]]), ("spin",))


def test_principal_axes_order_spread_and_centre():
    g = torch.Generator().manual_seed(0)
    p = torch.randn(2, 7, 3, dtype=torch.float64, generator=g) * torch.tensor([0.5, 3.0, 1.2], dtype=torch.float64)
    z = torch.tensor([[6] * 7, [6] * 5 + [0] * 2])
    placed = align_principal_axes(p, z)
    for b, n in ((0, 7), (1, 5)):
        q = placed[b, :n]
        torch.testing.assert_close(q.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-12, rtol=0)
        spread = (q**2).sum(0)
        assert spread[0] >= spread[1] >= spread[2]
    assert placed[1, 5:].abs().max() == 0


def test_check_fits_names_the_molecule():
    p = torch.tensor([[[0.0, 0, 0], [5.0, 0, 0]], [[0.0, 0, 0], [1.0, 0, 0]]], dtype=torch.float64)
    z = torch.tensor([[6, 6], [6, 6]])
    check_fits(p[1:], z[1:], (8, 8, 8), 0.5, 2.0)
    with pytest.raises(ValueError, match="grid: molecule #7 spans 5.00 Å along axis 0"):
        check_fits(p, z, (8, 8, 8), 0.5, 2.0, names=["#7", "#8"])
