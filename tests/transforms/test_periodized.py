"""Support-restricted periodized filtering (gennet.transforms.periodized) against the brute-force product and mean of
aliases, and its transpose."""

import pytest
import torch

from gennet.transforms.filters import morlet_filter_bank
from gennet.transforms.fourier import alias_mean, tile
from gennet.transforms.periodized import filter_subsample, filter_upsample, support_plan


@pytest.mark.parametrize("M, N, s, half", [(32, 48, 4, True), (32, 48, 4, False), (24, 40, 2, True), (16, 16, 1, False), (30, 18, 2, True)])
def test_filter_subsample_is_the_mean_of_aliases_of_the_product(M, N, s, half):
    """tolerance 0 keeps every block: exactly alias_mean(û ψ̂, s) (float64), from the half spectrum of a real u too."""
    generator = torch.Generator().manual_seed(0)
    u = torch.randn(3, M, N, generator=generator, dtype=torch.float64)
    psi = torch.rand(5, M, N, generator=generator, dtype=torch.float64)
    index, weights = support_plan(psi, s, tolerance=0.0, half=half)
    spectrum = torch.fft.rfft2(u) if half else torch.fft.fft2(u)
    ours = filter_subsample(spectrum, index, weights, (M // s, N // s))
    expected = alias_mean(torch.fft.fft2(u)[:, None] * psi, s)
    assert ours.shape == (3, 5, M // s, N // s)
    assert (ours - expected).abs().max() <= 1e-12 * expected.abs().max()


def test_dropped_blocks_are_below_the_tolerance():
    """With Morlet filters at tolerance 1e-8 some blocks are dropped, and the result moves by less than 1e-8 relative."""
    bank = morlet_filter_bank(64, 64, 4, 8)
    u = torch.randn(2, 64, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = filter_subsample(torch.fft.rfft2(u), *support_plan(bank.psi[3], 8, 0.0), (8, 8))
    index, weights = support_plan(bank.psi[3], 8, 1e-8)
    assert weights.shape[1] // 2 < 64  # fewer than the 64 blocks
    restricted = filter_subsample(torch.fft.rfft2(u), index, weights, (8, 8))
    assert (restricted - exact).norm() <= 1e-8 * exact.norm()


def test_filter_upsample_is_the_transpose_and_synthesizes_with_tiled_spectra():
    """⟨A X, Y⟩ = ⟨X, Aᵀ Y⟩ (bilinear), and with weights × s² it is Σ_t ψ̂_t tile(Ĉ_t) (the synthesis of U⁻¹)."""
    generator = torch.Generator().manual_seed(0)
    M, N, s, T = 16, 24, 4, 3
    psi = torch.rand(T, M, N, generator=generator, dtype=torch.float64)
    index, weights = support_plan(psi, s, 0.0, half=False)
    X = torch.randn(2, M, N, generator=generator, dtype=torch.complex128)
    Y = torch.randn(2, T, M // s, N // s, generator=generator, dtype=torch.complex128)
    left = (filter_subsample(X, index, weights, (M // s, N // s)) * Y).sum()
    right = (X * filter_upsample(Y, index, weights, (M, N))).sum()
    assert abs(left - right) <= 1e-12 * abs(left)
    synthesized = filter_upsample(Y, index, weights * s * s, (M, N))
    assert torch.allclose(synthesized, (psi * tile(Y, s)).sum(1), atol=1e-12)
