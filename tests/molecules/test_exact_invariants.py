"""The grid-free invariants (Parseval) against the grid's: on a grid fine and large enough for both (σ = 0.3 Å on
0.15 Å voxels, a 9.6 Å box), the pair sums equal ``h³ Σ (U[j,l]x)²`` of :class:`HarmonicScattering3D` to 1e-6 and
the triple sums ``h³ Σ (U[j,0]x)³`` likewise; then the exact invariances (rotations, reflections, translations,
atom order) that the grid only approximates, and the polarization identity of the cross-channel terms."""

import pytest
import torch

from gennet.molecules.density import charge_channels
from gennet.molecules.exact_invariants import channel_pairs, cubic_invariants, pair_energy_invariants, pair_radial_function
from gennet.molecules.features import ScatteringFeatures
from tests.molecules.helpers import rotation

Z = torch.tensor([[6, 8, 1, 1, 7, 0]])
R = torch.tensor([[[0.1, -0.2, 0.05], [1.2, 0.1, -0.1], [-0.5, 0.8, 0.3], [-0.4, -0.9, -0.2], [0.3, 0.2, 1.1], [0, 0, 0]]],
                 dtype=torch.float64)
SIGMA, SIGMA_0, L = 0.3, 0.35, 3


@pytest.fixture(scope="module")
def grid():
    """First-order grid invariants, q = 2 and 3, j = 0, 1 (σ_j = 0.35, 0.7 Å), l ≤ 3, on 64³ voxels of 0.15 Å."""
    features = ScatteringFeatures(shape=(64, 64, 64), spacing=0.15, sigma_density=SIGMA, sigma_0=SIGMA_0, J=1, L=L,
                                  max_order=1, integral_powers=(2.0, 3.0), align=False, dtype="float64", subsample=None,
                                  margin_sigmas=0, grid=True, grid_order0=True, counts=False, exact_scales=(),
                                  cubic_scales=())  # the grid's invariants only
    values = features.transform(Z, R).reshape(1, len(features.channels), -1)
    order0, first = values[..., :2], values[..., 2:].reshape(1, len(features.channels), 2, L + 1, 2)
    return order0, first


def test_pair_sums_equal_the_grid(grid):
    order0, first = grid
    exact = pair_energy_invariants(R, charge_channels(Z), SIGMA, [SIGMA_0, 2 * SIGMA_0], L)
    torch.testing.assert_close(exact, first[..., 0], rtol=1e-6, atol=0)
    torch.testing.assert_close(pair_energy_invariants(R, charge_channels(Z), SIGMA, [0.0], 0)[..., 0, 0], order0[..., 0],
                               rtol=1e-6, atol=0)  # width 0: ∫ x²


def test_triple_sums_equal_the_grid(grid):
    order0, first = grid
    exact = cubic_invariants(R, charge_channels(Z), SIGMA, [0.0, SIGMA_0, 2 * SIGMA_0])
    torch.testing.assert_close(exact[..., 0], order0[..., 1], rtol=1e-6, atol=0)  # ∫ x³
    torch.testing.assert_close(exact[..., 1:], first[..., 0, 1], rtol=1e-6, atol=0)  # ∫ (U[j,0] x)³


def test_exactly_invariant():
    weights = charge_channels(Z)
    scales = [0.2, 0.6, 1.7]
    a = pair_energy_invariants(R, weights, 0.22, scales, 4, cross=True)
    t = cubic_invariants(R, weights, 0.22, scales)
    order = torch.tensor([3, 0, 4, 1, 2, 5])
    for seed in (0, 1):
        moved = R[:, order] @ torch.from_numpy(rotation(seed)).T + torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)
        moved[..., 1] *= -1  # and a reflection
        moved[:, 5] = 0  # padding stays padding (weight 0) wherever it sits
        torch.testing.assert_close(pair_energy_invariants(moved, weights[:, order], 0.22, scales, 4, cross=True), a, rtol=1e-12, atol=0)
        torch.testing.assert_close(cubic_invariants(moved, weights[:, order], 0.22, scales), t, rtol=1e-12, atol=0)
    stretched = R.clone()
    stretched[0, 1] += torch.tensor([0.05, 0.0, 0.0], dtype=torch.float64)
    assert ((pair_energy_invariants(stretched, weights, 0.22, scales, 4) - a[:, [0, 4, 7, 9]]).abs() / a[:, [0, 4, 7, 9]]).max() > 1e-3


def test_cross_channels_by_polarization():
    """∫ Σ_m (x_a ⋆ ψ)(x_b ⋆ ψ) = ¼ (∫ U(x_a + x_b)² − ∫ U(x_a − x_b)²), each side computed on its own."""
    w = charge_channels(Z)
    cross = pair_energy_invariants(R, w, 0.25, [0.4, 0.8], 2, cross=True)
    pairs = channel_pairs(w.shape[-1], cross=True)
    for p, (a, b) in enumerate(pairs):
        plus = pair_energy_invariants(R, (w[..., a] + w[..., b])[..., None], 0.25, [0.4, 0.8], 2)
        minus = pair_energy_invariants(R, (w[..., a] - w[..., b])[..., None], 0.25, [0.4, 0.8], 2)
        torch.testing.assert_close(cross[:, p], (plus - minus)[:, 0] / 4, rtol=1e-12, atol=1e-15)


def test_radial_function_decays_and_is_positive_at_zero():
    r = torch.linspace(0, 12, 200, dtype=torch.float64)
    for l in range(5):
        F = pair_radial_function(r, 0.22, 0.5, l)
        assert F[0] > 0 and F[-1].abs() < 1e-12 * F[0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="positions must be"):
        pair_energy_invariants(R[0], charge_channels(Z), 0.3, [0.5], 1)
    with pytest.raises(ValueError, match="scales must be"):
        pair_energy_invariants(R, charge_channels(Z), 0.3, [-0.5], 1)
    with pytest.raises(ValueError, match="sigma must be"):
        cubic_invariants(R, charge_channels(Z), 0.0, [0.5])
