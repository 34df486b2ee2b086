"""The angular analysis of W₁ (DESIGN §11): the channel layout against the rotation covariance of the scattering,
and Ω₁, Ω₂ and the thresholding on synthetic weights with known angular content."""

from __future__ import annotations

import math

import pytest
import torch

from gennet.analysis import angular_spectrum, scattering_layout, threshold_angular
from gennet.transforms import Scattering2D

J, L = 2, 8


@pytest.fixture(scope="module")
def layout():
    return scattering_layout(Scattering2D(J, (32, 32), L=L), colors=2)


@pytest.fixture(scope="module")
def camera() -> torch.Tensor:
    from skimage import data, transform

    return torch.tensor(transform.resize(data.camera(), (64, 64), anti_aliasing=True), dtype=torch.float64)


def test_layout_counts_every_channel_once(layout):
    K = 1 + J * L + L * L * J * (J - 1) // 2
    indices = torch.cat([layout.order0, layout.order1.flatten(), layout.order2.flatten()])
    assert layout.num_channels == 2 * K and sorted(indices.tolist()) == list(range(2 * K))
    assert layout.describe(K + 1 + 1 * L + 5) == {"color": 1, "order": 1, "j1": 1, "theta1": 5, "phase": 0}


def test_phase_layout_puts_phases_innermost():
    layout = scattering_layout(Scattering2D(2, (32, 32), L=4, phases=4))
    assert layout.order1.shape == (1, 2, 4, 4)
    assert layout.order1[0, 0, 1].tolist() == [5, 6, 7, 8]  # (j1=0, θ1=1, a=0..3) after the low-pass channel
    assert layout.order2.min() == 1 + 4 * 2 * 4


def test_layout_follows_the_rotation_covariance_of_the_scattering(camera):
    """S_J(g·x)(λ) = S_J x(g⁻¹λ) (seed 002): rotating the image by 90° shifts θ1 (and θ2) by L/2 and leaves the
    scales alone. With spatial averages the relation holds up to the border; a wrong layout (scales and
    orientations mixed up) breaks it by orders of magnitude."""
    S = Scattering2D(2, (64, 64), L=L).double()
    layout = scattering_layout(S)
    a, b = S(camera).mean((-2, -1)), S(torch.rot90(camera, 1, (0, 1))).mean((-2, -1))
    shift = L // 2
    first_a, first_b = a[layout.order1[0, ..., 0]], b[layout.order1[0, ..., 0]]  # (J, L)
    second_a, second_b = a[layout.order2[0]], b[layout.order2[0]]  # (P, L, L)
    rotated1 = torch.roll(first_a, shift, dims=1)
    rotated2 = torch.roll(second_a, (shift, shift), dims=(1, 2))
    error1 = ((first_b - rotated1).norm() / first_b.norm()).item()
    error2 = ((second_b - rotated2).norm() / second_b.norm()).item()
    unrotated1 = ((first_b - first_a).norm() / first_b.norm()).item()
    assert error1 < 0.03 and error2 < 0.03, (error1, error2)  # measured: 0.012, 0.013
    off_by_one = ((first_b - torch.roll(first_a, shift + 1, dims=1)).norm() / first_b.norm()).item()
    assert off_by_one > 3 * error1  # measured: 0.062 (one orientation step too far)
    assert unrotated1 > 5 * error1  # the test sees orientations: the camera is not isotropic (0.14)
    wrong = ((first_b - torch.roll(first_a, 1, dims=0)).norm() / first_b.norm()).item()  # scales shifted instead
    assert wrong > 10 * error1


def _synthetic_weight(layout, out: int = 3, taps: int = 9, seed: int = 0) -> tuple[torch.Tensor, dict]:
    """W₁ (out, C·K, 3, 3) whose order-1 weights are a·cos(2·θ1·2π/L) and order-2 weights b·cos((θ1 − θ2)·2π/L):
    Ω₁ lives on ω = ±2, Ω₂ on (ω1, ω2) = ±(1, −1)."""
    g = torch.Generator().manual_seed(seed)
    theta = torch.arange(L, dtype=torch.float64)
    w = torch.zeros(out, layout.num_channels, taps, dtype=torch.float64)
    amplitude1 = torch.randn(out, *layout.order1.shape[:2], 1, layout.order1.shape[3], taps, generator=g, dtype=torch.float64)
    w[:, layout.order1] = amplitude1 * torch.cos(2 * math.pi * 2 * theta / L)[None, None, None, :, None, None]
    pattern = torch.cos(2 * math.pi * (theta[:, None] - theta[None, :]) / L)
    amplitude2 = torch.randn(out, *layout.order2.shape[:2], 1, 1, taps, generator=g, dtype=torch.float64)
    w[:, layout.order2] = amplitude2 * pattern[None, None, None, :, :, None]
    w[:, layout.order0] = torch.randn(out, layout.order0.numel(), taps, generator=g, dtype=torch.float64)
    return w.reshape(out, layout.num_channels, 3, 3), {"a": amplitude1, "b": amplitude2}


def test_angular_spectrum_of_known_angular_content(layout):
    weight, amplitudes = _synthetic_weight(layout)
    spectrum = angular_spectrum(weight.float(), layout)
    omega1, omega2 = spectrum.omega1, spectrum.omega2
    # cos(2·θ·2π/L) sampled on L points: energy L/2·a², half at ω = 2, half at ω = L − 2 (orthonormal DFT)
    expected1 = amplitudes["a"].square().sum() * L / 2
    assert torch.allclose(omega1[[2, L - 2]], torch.full((2,), expected1.item() / 2, dtype=torch.float64), rtol=1e-5)
    assert omega1[[0, 1, 3, 4, 5, 7]].max() < 1e-6 * omega1.max()
    expected2 = amplitudes["b"].square().sum() * L * L / 2
    assert torch.allclose(omega2[1, L - 1], torch.tensor(expected2.item() / 2, dtype=torch.float64), rtol=1e-5)
    assert torch.allclose(omega2[L - 1, 1], omega2[1, L - 1])
    assert omega2.sum() - 2 * omega2[1, L - 1] < 1e-6 * omega2.sum()
    # Parseval: Ω sums to the energy of the weights of each order; per-scale spectra add up to Ω₁
    assert math.isclose(omega1.sum().item(), spectrum.energy["order1"], rel_tol=1e-5)
    assert math.isclose(omega2.sum().item(), spectrum.energy["order2"], rel_tol=1e-5)
    assert torch.allclose(spectrum.omega1_per_scale.sum(0), omega1)


def test_angular_spectrum_of_a_linear_layer_on_flattened_maps(layout):
    """scatnet's W₁ is a Linear on (C·K, h, w) maps flattened: the same weights seen as (out, C·K·h·w)."""
    weight, _ = _synthetic_weight(layout)
    as_linear = weight.reshape(weight.shape[0], -1)
    a, b = angular_spectrum(weight, layout), angular_spectrum(as_linear, layout)
    assert torch.allclose(a.omega1, b.omega1) and torch.allclose(a.omega2, b.omega2)
    with pytest.raises(ValueError, match="scattering channels"):
        angular_spectrum(weight[:, :-1], layout)


def test_thresholding_keeps_the_largest_coefficients_and_rebuilds_real_weights(layout):
    weight, _ = _synthetic_weight(layout)
    same, kept = threshold_angular(weight, layout, 1.0)
    assert kept == 1.0 and torch.equal(same, weight)
    # 2 of L coefficients per order-1 slice and 2 of L² per order-2 slice are non-zero
    n1, n2 = layout.order1.numel() * weight.shape[0] * 9, layout.order2.numel() * weight.shape[0] * 9
    sparse_fraction = (n1 * 2 / L + n2 * 2 / L**2) / (n1 + n2)
    exact, kept = threshold_angular(weight, layout, sparse_fraction + 0.01)
    assert torch.allclose(exact, weight, atol=1e-12) and abs(kept - (sparse_fraction + 0.01)) < 1e-3
    # keeping fewer drops whole conjugate pairs: the weights stay real and lose energy; order 0 is untouched
    smaller, kept = threshold_angular(weight, layout, sparse_fraction / 2)
    assert smaller.dtype == weight.dtype and kept <= sparse_fraction / 2 + 1e-9
    assert torch.equal(smaller[:, layout.order0], weight[:, layout.order0])
    assert angular_spectrum(smaller, layout).energy["order1"] + angular_spectrum(smaller, layout).energy["order2"] < (
        angular_spectrum(weight, layout).energy["order1"] + angular_spectrum(weight, layout).energy["order2"])


def test_thresholding_random_weights_keeps_the_asked_fraction_and_the_largest(layout):
    weight = torch.randn(4, layout.num_channels, 3, 3, generator=torch.Generator().manual_seed(1))
    spectra = []
    for keep in (0.8, 0.5, 0.2, 0.05):
        thresholded, kept = threshold_angular(weight, layout, keep)
        assert abs(kept - keep) < 0.01, (keep, kept)
        spectra.append(angular_spectrum(thresholded, layout).energy["order1"])
    assert spectra == sorted(spectra, reverse=True)
    with pytest.raises(ValueError, match="keep"):
        threshold_angular(weight, layout, 1.5)
