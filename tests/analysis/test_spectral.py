"""The spectral measures pinned to known answers: a logit margin planted as a sinusoid of frequency k along a
direction is recovered at k, and the fitted fraction of a planted noise is 1 when reproduced, 0 when ignored."""

from __future__ import annotations

import math

import pytest
import torch

from gennet.analysis import (
    fitted_fraction,
    high_frequency_fraction,
    image_paths,
    line_spectrum,
    margin_along_lines,
    planted_noise,
    random_lines,
    spectral_median,
)


def planted_classifier(u: torch.Tensor, ks: list[float], amplitudes: list[float]):
    """Two logits whose margin f_0 − f_1 is 3 + Σ a sin(2π k ⟨u, x⟩): class 0 everywhere, the margin oscillating
    along u at the frequencies ks (cycles per unit of distance)."""

    def f(x):
        s = x.flatten(1) @ u.flatten()
        m = 3 + sum(a * torch.sin(2 * math.pi * k * s) for k, a in zip(ks, amplitudes))
        return torch.stack([m / 2, -m / 2], 1)

    return f


def test_a_planted_frequency_is_recovered_along_its_direction():
    origins = torch.randn(5, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    u = random_lines(origins[:1], seed=1)[0]
    f = planted_classifier(u, [3.0], [1.0])
    t = torch.linspace(-4, 4, 257, dtype=torch.float64)
    m = margin_along_lines(f, origins, u.expand_as(origins), t)
    nu, power = line_spectrum(m, t[1] - t[0])
    peak = nu[0, power.argmax(1)]
    assert torch.allclose(peak, torch.full_like(peak, 3.0), atol=1 / 8)  # one bin = 1/(n·spacing) = 1/8
    assert torch.allclose(spectral_median(nu, power), torch.full((5,), 3.0, dtype=torch.float64), atol=1 / 8)
    assert bool((high_frequency_fraction(nu, power, 2.0) > 0.95).all())


def test_two_planted_frequencies_split_the_energy_as_planted():
    origins = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    u = random_lines(origins, seed=2)[0]
    f = planted_classifier(u, [1.0, 6.0], [1.0, 0.5])
    t = torch.linspace(-8, 8, 513, dtype=torch.float64)
    nu, power = line_spectrum(margin_along_lines(f, origins, u[None], t), t[1] - t[0])
    assert high_frequency_fraction(nu, power, 3.5).item() == pytest.approx(0.25 / 1.25, abs=0.02)  # energy ∝ a²


def test_paths_between_images_and_bad_pairs():
    a = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    b = torch.randn(3, 1, 4, 4, dtype=torch.float64)
    directions, lengths = image_paths(a, b)
    assert torch.allclose(a + lengths[:, None, None, None] * directions, b)
    with pytest.raises(ValueError, match="different"):
        image_paths(a, a)


def test_fitted_fraction_of_a_planted_noise():
    images = torch.randn(400, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    noise = planted_noise(images, [1.0, 4.0], amplitude=0.5)
    clean = torch.where(images[:, 0, 0, 0] > 0, 1.0, -1.0)
    planted = noise.noise(images)
    assert planted.abs().max() <= 0.5 + 1e-6 and noise.position(images).abs().median() < 0.5
    full = fitted_fraction(clean[:, None] + planted, clean, planted)
    ignored = fitted_fraction(clean[:, None].expand(-1, 2) * 0.8 + 0.1, clean, planted)
    half = fitted_fraction(clean[:, None] + 0.5 * planted, clean, planted)
    assert torch.allclose(full, torch.ones(2), atol=1e-5) and torch.allclose(ignored, torch.zeros(2), atol=1e-5)
    assert torch.allclose(half, torch.full((2,), 0.5), atol=1e-5)
