"""The suite of non-Gaussian test fields (issue 20): seeded, and their known statistics hold."""

from __future__ import annotations

import math

import pytest
import torch

from gennet.stationary.fields import (
    FIELDS,
    boolean_coverage,
    boolean_disks,
    boolean_segments,
    field,
    mean_disk_area,
    multifractal_field,
)
from gennet.stationary.metrics import structure_functions


@pytest.mark.parametrize("name", list(FIELDS))
def test_every_field_is_seeded(name):
    one, again, other = field(name, (64, 64), seed=3), field(name, (64, 64), seed=3), field(name, (64, 64), seed=4)
    assert one.shape == (1, 1, 64, 64) and one.dtype == torch.float64
    assert torch.equal(one, again) and not torch.equal(one, other)


@pytest.mark.parametrize(
    "law, radius",
    [("constant", 5.0), ("uniform", (2.0, 9.0)), ("power", (1.5, 12.0))],
)
def test_disk_coverage_is_one_minus_exp_of_intensity_times_mean_area(law, radius):
    """Boolean model on the torus: P(pixel covered) = 1 − exp(−λ E[π r²]) (Chiu et al. 2013, eq. 3.5); averaged over
    seeds, within 4 standard errors of the seed-to-seed spread."""
    coverage = 0.3
    fractions = torch.tensor([float(boolean_disks((96, 96), coverage, law, radius, seed=s).mean()) for s in range(12)])
    error = 4 * fractions.std() / math.sqrt(len(fractions))
    assert abs(float(fractions.mean()) - coverage) < error
    assert set(boolean_disks((32, 32), coverage, law, radius, seed=0).unique().tolist()) <= {0.0, 1.0}


def test_mean_disk_area_against_monte_carlo():
    generator = torch.Generator().manual_seed(0)
    u = torch.rand(400_000, generator=generator, dtype=torch.float64)
    uniform = 2 + 7 * u
    a, b = 1.5**-2, 12.0**-2
    power = (a - u * (a - b)) ** -0.5  # Pareto alpha = 2 truncated to [1.5, 12], by inverse CDF
    assert math.isclose(mean_disk_area("uniform", (2.0, 9.0)), float(math.pi * uniform.square().mean()), rel_tol=5e-3)
    assert math.isclose(mean_disk_area("power", (1.5, 12.0), alpha=2.0), float(math.pi * power.square().mean()), rel_tol=5e-3)
    c, d = 1.5**-1.5, 12.0**-1.5
    heavier = (c - u * (c - d)) ** (-1 / 1.5)  # alpha = 1.5
    assert math.isclose(mean_disk_area("power", (1.5, 12.0), alpha=1.5), float(math.pi * heavier.square().mean()), rel_tol=5e-3)
    assert boolean_coverage(0.0, 10.0) == 0


def test_segment_coverage_and_orientations():
    coverage = 0.2
    fractions = torch.tensor([float(boolean_segments((96, 96), coverage, (8.0, 30.0), 2.0, seed=s).mean()) for s in range(12)])
    assert abs(float(fractions.mean()) - coverage) < 4 * fractions.std() / math.sqrt(len(fractions))
    # uniform orientations: as many horizontal as vertical transitions on average
    x = torch.cat([boolean_segments((96, 96), coverage, (8.0, 30.0), 2.0, seed=s) for s in range(6)])
    horizontal = (x - torch.roll(x, 1, dims=-1)).abs().mean()
    vertical = (x - torch.roll(x, 1, dims=-2)).abs().mean()
    assert abs(float(horizontal / vertical) - 1) < 0.1


def test_multifractal_field_is_intermittent_and_gaussian_without_intermittency():
    """Flatness S_4/S_2² of the increments: 3 for γ = 0 (a Gaussian field), larger at small lags than at large
    ones for γ > 0 (Bacry, Delour & Muzy 2001: the increments' law changes with the scale)."""
    lags = (1, 32)

    def flatness(gamma: float) -> torch.Tensor:
        fields = torch.cat([multifractal_field((128, 128), intermittency=gamma, integral_scale=64.0, seed=s) for s in range(4)])
        S = structure_functions(fields, lags=lags, orders=(2, 4)).mean(dim=(0, 1))  # (2, lags)
        return S[1] / S[0].square()

    gaussian, intermittent = flatness(0.0), flatness(0.5)
    assert torch.allclose(gaussian, torch.full_like(gaussian, 3.0), atol=0.3)
    assert intermittent[0] > 4.5 and intermittent[0] > intermittent[1] + 1
    x = multifractal_field((64, 64), seed=0)
    assert abs(float(x.mean())) < 1e-9 and math.isclose(float(x.std()), 1.0, rel_tol=1e-9)


def test_bad_arguments():
    with pytest.raises(ValueError, match="coverage"):
        boolean_disks((32, 32), coverage=1.0)
    with pytest.raises(ValueError, match="radius_law"):
        boolean_disks((32, 32), radius_law="gamma")
    with pytest.raises(ValueError, match="radius"):
        boolean_disks((32, 32), radius=(4.0, 20.0))
    with pytest.raises(ValueError, match="width"):
        boolean_segments((32, 32), width=0.0)
    with pytest.raises(ValueError, match="hurst"):
        multifractal_field((32, 32), hurst=1.5)
    with pytest.raises(KeyError, match="the suite"):
        field("clouds")


def test_square_and_ellipse_coverage_laws():
    """Boolean models: P(pixel covered) = 1 − exp(−λ E[area]) (Chiu et al. 2013, eq. 3.5), within 4 standard errors
    of the seed-to-seed spread; the ellipses' boundaries run along their long axes (near ``orientation``)."""
    import math

    from gennet.stationary.geometric_fields import boolean_ellipses, boolean_squares

    for make in (lambda s: boolean_squares((96, 96), 0.25, (6.0, 14.0), seed=s),
                 lambda s: boolean_ellipses((96, 96), 0.25, (8.0, 3.0), orientation=0.0, spread=0.1, seed=s)):
        fractions = torch.tensor([float(make(s).mean()) for s in range(12)])
        assert abs(float(fractions.mean()) - 0.25) < 4 * fractions.std() / math.sqrt(len(fractions))
    # long axes along the columns (orientation 0): more transitions between rows than between columns
    x = torch.cat([boolean_ellipses((96, 96), 0.25, (8.0, 3.0), orientation=0.0, spread=0.1, seed=s) for s in range(4)])
    across_rows = (x - torch.roll(x, 1, dims=-2)).abs().mean()
    across_columns = (x - torch.roll(x, 1, dims=-1)).abs().mean()
    assert across_rows > 2 * across_columns
    with pytest.raises(ValueError, match="side"):
        boolean_squares((64, 64), side=(4.0, 30.0))
    with pytest.raises(ValueError, match="semi_axes"):
        boolean_ellipses((64, 64), semi_axes=(2.0, 4.0))


def test_voronoi_edges_have_the_poisson_voronoi_length_and_are_straight():
    """The edge length per unit area of the Poisson–Voronoi tessellation is 2√λ (Chiu et al. 2013, Table 9.1): drawn
    ``width`` wide, the edges cover ≈ 2√λ·width (less the overlaps at the vertices, a few percent); the edges are
    straight segments."""
    import math

    from gennet.stationary.geometric_fields import voronoi_edges
    from gennet.stationary.shapes import straightness

    intensity, width = 1 / 400, 2.0
    fractions = torch.tensor([float(voronoi_edges((160, 160), intensity, width, seed=s).mean()) for s in range(6)])
    expected = 2 * math.sqrt(intensity) * width
    assert 0.9 * expected < float(fractions.mean()) < expected
    assert straightness(voronoi_edges((160, 160), intensity, width, seed=0)[0, 0].numpy() > 0.5) > 0.92
    with pytest.raises(ValueError, match="intensity"):
        voronoi_edges((64, 64), intensity=1 / 1000)
