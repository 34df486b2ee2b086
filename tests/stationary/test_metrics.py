"""Validation metrics against brute force and independent references (scipy's Wasserstein distance, plenoptic)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from gennet.stationary import gaussian_samples
from gennet.stationary.metrics import (
    copy_check,
    histogram_distance,
    portilla_simoncelli_error,
    radial_power_spectrum,
    scattering_error,
    scattering_means,
    scattering_order0_error,
    spectrum_error,
    structure_function_error,
    structure_functions,
    validation_metrics,
)

from tests.stationary.textures import texture_crop


def test_radial_power_spectrum_against_loops():
    x = texture_crop("grass", (8, 12))[None]  # (1, 1, 8, 12)
    ours = radial_power_spectrum(x)[0, 0]
    power = np.abs(np.fft.fft2(x[0, 0].numpy())) ** 2 / 96
    sums, counts = np.zeros(4), np.zeros(4)
    for r in range(8):
        for c in range(12):
            fr, fc = (r if r < 4 else r - 8) / 8, (c if c < 6 else c - 12) / 12
            ring = round(math.hypot(fr, fc) * 8)
            if 1 <= ring <= 4:
                sums[ring - 1] += power[r, c]
                counts[ring - 1] += 1
    np.testing.assert_allclose(ours.numpy(), sums / counts, rtol=1e-12)


def test_spectrum_error_is_zero_for_the_random_phase_baseline():
    target = texture_crop("brick", (64, 64))
    gaussian = gaussian_samples(target, 2, generator=torch.Generator().manual_seed(0))
    assert spectrum_error(gaussian, target).max() < 1e-9
    white = torch.randn(1, 1, 64, 64, dtype=torch.float64) * target.std() + target.mean()
    assert spectrum_error(white, target)[0] > 0.3  # a flat spectrum is decades away from a texture's


def test_histogram_distance_against_scipy():
    target = texture_crop("gravel", (32, 32))
    other = texture_crop("grass", (32, 32))
    expected = wasserstein_distance(other.flatten().numpy(), target.flatten().numpy()) / float(target.std())
    assert math.isclose(float(histogram_distance(other[None], target)[0]), expected, rel_tol=1e-9)
    permuted = target.flatten()[torch.randperm(32 * 32)].reshape(1, 1, 32, 32)
    assert float(histogram_distance(permuted, target)[0]) < 1e-12  # the histogram ignores positions


def test_structure_functions_against_loops():
    x = texture_crop("brick", (6, 8))[None]
    ours = structure_functions(x, lags=(1, 2), orders=(1, 3))[0, 0].numpy()  # (Q, lags)
    field = x[0, 0].numpy()
    for i, q in enumerate((1, 3)):
        for k, lag in enumerate((1, 2)):
            values = [abs(field[r, (c + lag) % 8] - field[r, c]) ** q for r in range(6) for c in range(8)]
            values += [abs(field[(r + lag) % 6, c] - field[r, c]) ** q for r in range(6) for c in range(8)]
            assert math.isclose(ours[i, k], np.mean(values), rel_tol=1e-12)
    assert float(structure_function_error(x, x[0])[0]) == 0


def test_copy_check_finds_a_shifted_copy_and_matches_loops():
    target = texture_crop("gravel", (16, 12))
    shifted = torch.roll(target, shifts=(5, -4), dims=(-2, -1))
    assert math.isclose(float(copy_check(shifted[None], target)[0]), 1.0, rel_tol=1e-12)
    noise = torch.randn(1, 1, 16, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a, b = noise[0, 0].numpy() - noise.mean().item(), target[0].numpy() - target.mean().item()
    brute = max((a * np.roll(b, (r, c), axis=(0, 1))).sum() for r in range(16) for c in range(12))
    assert math.isclose(float(copy_check(noise, target)[0]), brute / np.linalg.norm(a) / np.linalg.norm(b), rel_tol=1e-9)


def test_scattering_and_portilla_simoncelli_errors():
    target = texture_crop("brick", (64, 64))
    gaussian = gaussian_samples(target, 1, generator=torch.Generator().manual_seed(0))
    assert float(scattering_error(target[None], target)[0]) == 0
    assert 0.05 < float(scattering_error(gaussian, target)[0]) < 2
    assert float(portilla_simoncelli_error(target[None], target)[0]) == 0
    assert float(portilla_simoncelli_error(gaussian, target)[0]) > 0.05
    metrics = validation_metrics(gaussian, target)
    assert set(metrics) == {"spectrum_error", "histogram_w1", "structure_error", "scattering_error", "scattering_order0", "ps_error",
                            "copy_check_max"}


def test_scattering_error_is_not_flattered_by_the_mean():
    """A field with the original's mean, std and histogram but no structure (its pixels shuffled) scores badly, a
    constant at the right mean scores 1; a change of units applied to both leaves the error unchanged; a shift of
    the mean moves the order-0 error (reported apart) and not the order-1–2 error."""
    from gennet.stationary.fields import boolean_disks

    disks = boolean_disks((64, 64), coverage=0.3, radius_law="uniform", radius=(2.0, 8.0), seed=0)[0]  # mean ≈ 0.3
    shuffled = disks.flatten()[torch.randperm(64 * 64, generator=torch.Generator().manual_seed(0))].reshape(1, 1, 64, 64)
    assert float(scattering_error(shuffled, disks)[0]) > 0.5
    assert float(scattering_error(torch.full_like(disks[None], float(disks.mean())), disks)[0]) > 0.99
    # the old normalization (all scattering means, order 0 included, raw units) would have called the shuffle close
    raw_sample, raw_original = scattering_means(shuffled + 10, J=3)[0, 0], scattering_means(disks[None] + 10, J=3)[0, 0]
    assert float((raw_sample - raw_original).norm() / raw_original.norm()) < 0.05
    other = boolean_disks((64, 64), coverage=0.3, radius_law="uniform", radius=(2.0, 8.0), seed=1)
    error = scattering_error(other, disks)
    assert math.isclose(float(scattering_error(3 * other - 7, 3 * disks - 7)[0]), float(error[0]), rel_tol=1e-4)
    shifted = disks[None] + 0.5 * disks.std()
    assert float(scattering_error(shifted, disks)[0]) < 1e-5
    assert math.isclose(float(scattering_order0_error(shifted, disks)[0]), 0.5, rel_tol=1e-4)


def test_portilla_simoncelli_error_without_plenoptic(monkeypatch):
    target = texture_crop("brick", (32, 32))
    monkeypatch.setitem(sys.modules, "plenoptic", None)
    monkeypatch.setitem(sys.modules, "plenoptic.models", None)
    with pytest.raises(ModuleNotFoundError, match="pip install plenoptic"):
        portilla_simoncelli_error(target[None], target)
    assert validation_metrics(target[None], target)["ps_error"] is None
