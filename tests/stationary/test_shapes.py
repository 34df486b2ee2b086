"""Shape statistics (issue 33): Minkowski functionals on simple sets, the Minkowski error telling a Boolean disk field
from its phase-randomized twin and from squares of the same germs and areas, circularity and straightness."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gennet.stationary import gaussian_samples
from gennet.stationary.fields import boolean_disks, field
from gennet.stationary.geometric_fields import boolean_squares
from gennet.stationary.shapes import (
    binarize,
    branch_length,
    minkowski_error,
    minkowski_functionals,
    object_shapes,
    shape_metrics,
    straightness,
)


def test_minkowski_functionals_of_simple_sets():
    """A pixel, a 4×4 square with a 2×2 hole, a band around the torus: area, boundary edges, V − E + F."""
    x = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    x[0, 0, 3, 3] = 1
    x[0, 0, 8:12, 8:12] = 1
    x[0, 0, 9:11, 9:11] = 0
    area, boundary, euler = (minkowski_functionals(x, torch.tensor([0.5]))[0, 0, :, 0] * 256).tolist()
    assert (area, boundary, euler) == (13, 4 + 16 + 8, 1 + 0)  # one component, and a square with one hole
    band = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    band[..., 4:7, :] = 1
    assert (minkowski_functionals(band, torch.tensor([0.5]))[0, 0, :, 0] * 256).tolist() == [48, 32, 0]  # an annulus
    # two pixels touching at a corner are one 8-connected component
    corner = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    corner[0, 0, 2, 2] = corner[0, 0, 3, 3] = 1
    assert float(minkowski_functionals(corner, torch.tensor([0.5]))[0, 0, 2, 0] * 64) == 1


def test_minkowski_functionals_tell_disks_from_their_phase_randomized_twin_and_from_squares():
    """Disks of radius 6 (30% covered, 192²). Their Gaussian (random-phase) twin has the same power spectrum and a
    Minkowski error > 10× that of other realizations of the disks. Squares of the same area on the same germs cover the
    same area, but their boundary is longer in every realization (4s = 4.0√A against 2πr = 3.5√A for a disk) and their
    Minkowski error, against disks of other seeds, is larger than the disks' own."""
    r, size = 6.0, 192
    original = boolean_disks((size, size), 0.3, "constant", r, seed=0)[0]
    disks = torch.cat([boolean_disks((size, size), 0.3, "constant", r, seed=s) for s in range(1, 5)])
    squares = torch.cat([boolean_squares((size, size), 0.3, (r * math.sqrt(math.pi),) * 2, seed=s) for s in range(1, 5)])
    twin = gaussian_samples(original, 4, generator=torch.Generator().manual_seed(0))
    own, of_squares, of_twin = (minkowski_error(x, original) for x in (disks, squares, twin))
    assert float(of_twin.min()) > 10 * float(own.max())
    assert bool((of_squares > own).all())
    middle = torch.tensor([0.5])
    disk_values, square_values = minkowski_functionals(disks, middle)[:, 0, :, 0], minkowski_functionals(squares, middle)[:, 0, :, 0]
    assert torch.allclose(square_values[:, 0], disk_values[:, 0], rtol=0.01)
    assert bool((square_values[:, 1] > 1.05 * disk_values[:, 1]).all())


def test_circularity_of_disks_and_squares_and_of_their_gaussian_twin():
    disks, squares = field("disks_uniform", (256, 256)), field("squares", (256, 256))
    round_, square = (float(np.median(object_shapes(x[0, 0] > 0.5)["circularity"])) for x in (disks, squares))
    assert 0.95 < round_ < 1.1 and 0.7 < square < 0.85  # a square's 4πA/P² is π/4
    metrics = shape_metrics(gaussian_samples(disks[0], 2, generator=torch.Generator().manual_seed(0)), disks[0])
    assert metrics["circularity_median_original"] == pytest.approx(round_)
    assert metrics["circularity_median"] < round_ - 0.3 and metrics["circularity_w1"] > 0.3
    assert metrics["objects_original"] >= 15 and metrics["minkowski_error"] > 1
    with pytest.raises(ValueError, match="one binary image"):
        object_shapes(np.zeros((2, 8, 8)))


def test_straightness_of_lines_arcs_and_line_fields():
    from scipy import ndimage
    from skimage import draw

    line = np.zeros((100, 100), bool)
    line[draw.line(10, 10, 90, 50)] = True
    assert straightness(ndimage.binary_dilation(line)) > 0.9  # a digital segment: chains of 1 and √2 steps
    t = np.linspace(0, math.pi, 400)
    arc = np.zeros((100, 100), bool)
    arc[(50 + 40 * np.sin(t)).astype(int), (10 + 80 * t / math.pi).astype(int)] = True
    assert straightness(ndimage.binary_dilation(arc)) == pytest.approx(2 / math.pi, abs=0.05)  # a half circle
    assert math.isnan(straightness(np.zeros((16, 16), bool)))
    for name in ("segments", "cells"):
        x = field(name, (256, 256))
        twin = gaussian_samples(x[0], 1, generator=torch.Generator().manual_seed(0))
        ours, theirs = binarize(twin, x[0])
        assert straightness(theirs[0, 0]) > 0.92 and straightness(ours[0, 0]) < 0.85


def test_binarize_keeps_the_covered_fraction():
    x = boolean_disks((64, 64), 0.3, seed=0)[0]
    samples = torch.randn(3, 1, 64, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours, theirs = binarize(samples, x)
    assert torch.equal(theirs[0], x > 0.5)
    assert bool((ours.flatten(1).sum(dim=1) == int((x > 0.5).sum())).all())


def test_branch_length_tells_long_lines_from_short_pieces():
    from skimage import draw

    long, short = np.zeros((128, 128), bool), np.zeros((128, 128), bool)
    for row in range(10, 120, 20):
        long[draw.line(row, 5, row, 120)] = True
        for start in range(5, 110, 16):
            short[draw.line(row, start, row, start + 10)] = True
    assert straightness(long) > 0.99 and straightness(short) > 0.99
    assert branch_length(long) == pytest.approx(115, abs=1) and branch_length(short) == pytest.approx(10, abs=1)
