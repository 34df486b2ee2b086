"""The Gaussian (random-phase) baseline keeps the power spectrum and the colour cross-spectra exactly (DESIGN §10)."""

from __future__ import annotations

import pytest
import torch
from skimage import data

from gennet.stationary import gaussian_samples

from tests.stationary.textures import texture_crop


def _centred_spectrum(x: torch.Tensor) -> torch.Tensor:
    return torch.fft.fft2(x - x.mean(dim=(-2, -1), keepdim=True))


def test_grayscale_spectrum_and_mean_are_kept_and_phases_are_random():
    target = texture_crop("gravel", (64, 48))
    samples = gaussian_samples(target, 3, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (3, 1, 64, 48) and samples.dtype == torch.float64
    power, target_power = _centred_spectrum(samples).abs(), _centred_spectrum(target).abs()
    assert torch.allclose(power, target_power.expand_as(power), rtol=1e-9, atol=1e-9 * float(target_power.max()))
    assert torch.allclose(samples.mean(dim=(-2, -1)), target.mean(dim=(-2, -1)).expand(3, 1), atol=1e-12)
    # phases: independent of the target's and uniform (the mean phase factor over bins is ~1/sqrt(bins))
    phase = _centred_spectrum(samples) / _centred_spectrum(target)
    phase = phase[..., 1:, 1:] / phase[..., 1:, 1:].abs()
    assert phase.mean(dim=(-2, -1)).abs().max() < 0.05
    assert (samples[0] - samples[1]).abs().mean() > 0.5 * (target - target.mean()).abs().mean()


def test_colour_cross_spectra_are_kept():
    target = torch.from_numpy(data.astronaut()[100:164, 200:264].astype("float64") / 255).permute(2, 0, 1)
    samples = gaussian_samples(target[None], 2, generator=torch.Generator().manual_seed(1))
    f, g = _centred_spectrum(target), _centred_spectrum(samples)
    cross_target = f[:, None] * f[None].conj()  # (C, C, H, W)
    cross_samples = g[:, :, None] * g[:, None].conj()
    assert torch.allclose(cross_samples, cross_target.expand_as(cross_samples), atol=1e-9 * float(cross_target.abs().max()))


def test_reproducible_for_a_seed_and_bad_input():
    target = texture_crop("brick", (32, 32))
    one = gaussian_samples(target, 2, generator=torch.Generator().manual_seed(5))
    two = gaussian_samples(target, 2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(one, two)
    with pytest.raises(ValueError, match="num_samples"):
        gaussian_samples(target, 0)
    with pytest.raises(ValueError, match="target"):
        gaussian_samples(target[0], 1)


def test_several_images_give_their_mean_cross_spectrum_on_average():
    """The Gaussian model of N images: circular Gaussian Fourier coefficients of covariance the mean cross-spectrum;
    over 400 samples the mean periodogram (and cross-spectrum) is within ~5% of it, and the samples are real."""
    from gennet.stationary import gaussian_samples

    x = torch.randn(3, 2, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64).cumsum(-1)
    samples = gaussian_samples(x, 400, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (400, 2, 16, 16) and samples.dtype == torch.float64

    def cross(y):
        f = torch.fft.rfft2(y - y.mean(dim=(-2, -1), keepdim=True))
        return torch.einsum("nchw,ndhw->cdhw", f, f.conj()) / len(y)

    assert float((cross(samples) - cross(x)).abs().mean() / cross(x).abs().mean()) < 0.08
    assert torch.allclose(samples.mean(dim=(0, 2, 3)), x.mean(dim=(0, 2, 3)), atol=0.05 * float(x.std()))
