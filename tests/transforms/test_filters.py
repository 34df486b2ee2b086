"""The Morlet filter bank against kymatio 0.3.0's (the reference of DESIGN §1)."""

import numpy as np
import pytest
import torch
from kymatio.scattering2d.filter_bank import filter_bank as kymatio_filter_bank
from kymatio.scattering2d.filter_bank import gabor_2d as kymatio_gabor_2d

from gennet.transforms.filters import gabor_2d, morlet_filter_bank, periodize_fourier


@pytest.mark.parametrize("M, N, J, L", [(32, 32, 2, 8), (48, 80, 3, 6), (64, 64, 3, 8), (40, 24, 2, 4)])
def test_filter_bank_matches_kymatio(M, N, J, L):
    reference = kymatio_filter_bank(M, N, J, L)
    bank = morlet_filter_bank(M, N, J, L)
    assert bank.psi.shape == (J, L, M, N) and bank.phi.shape == (M, N)
    for psi in reference["psi"]:
        for res, level in enumerate(psi["levels"]):
            ours = periodize_fourier(bank.psi[psi["j"], psi["theta"]], res).numpy()
            np.testing.assert_allclose(ours, level, rtol=0, atol=1e-6 * np.abs(level).max())
    for res, level in enumerate(reference["phi"]["levels"]):
        ours = periodize_fourier(bank.phi, res).numpy()
        np.testing.assert_allclose(ours, level, rtol=0, atol=1e-6 * np.abs(level).max())


def test_filter_bank_properties_and_cache():
    bank = morlet_filter_bank(64, 64, 3, 8)
    assert bank is morlet_filter_bank(64, 64, 3, 8)  # cached
    # Morlet wavelets have zero mean, the low-pass has unit gain at frequency 0.
    assert torch.all(bank.psi[..., 0, 0].abs() < 1e-6)
    assert abs(bank.phi[0, 0].item() - 1.0) < 1e-3
    # Orientations: each wavelet peaks at its central frequency 3π/4·2^-j along θ.
    j, ell = 1, 2
    peak = torch.argmax(bank.psi[j, ell])
    kx, ky = divmod(int(peak), 64)
    freq = torch.tensor([kx if kx < 32 else kx - 64, ky if ky < 32 else ky - 64], dtype=torch.float64) * 2 * np.pi / 64
    assert abs(freq.norm().item() - 3 * np.pi / 4 / 2**j) < 2 * np.pi / 64 * 1.5


def test_filter_bank_rejects_bad_sizes():
    with pytest.raises(ValueError, match="J"):
        morlet_filter_bank(32, 32, 0, 8)


@pytest.mark.parametrize("M, N, sigma, theta, xi, slant", [(12, 20, 3.2, 0.4, 0.6, 0.5), (64, 48, 6.4, 2.0, 0.1, 0.5), (16, 16, 5.0, 0.0, 0.0, 1.0)])
def test_gabor_keeps_every_significant_period(M, N, sigma, theta, xi, slant):
    """Small grids and wide envelopes: the neighbouring and the ±2 periods all matter."""
    reference = kymatio_gabor_2d(M, N, sigma, theta, xi, slant)
    t = lambda v: torch.tensor([v], dtype=torch.float64)
    ours = gabor_2d(M, N, t(sigma), t(theta), t(xi), slant)[0].numpy()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6 * np.abs(reference).max())
