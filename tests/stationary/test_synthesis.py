"""Microcanonical synthesis by L-BFGS: the loss falls by orders of magnitude, reproducibly (DESIGN §10)."""

from __future__ import annotations

import pytest
import torch

from gennet.stationary import PhaseHarmonicCovariance2D, synthesize


def test_synthesis_reduces_the_loss_100_fold_and_is_reproducible(brick64):
    target = brick64.float()
    statistics = PhaseHarmonicCovariance2D((64, 64), J=3)
    result = synthesize(target, statistics, num_samples=2, n_iter=60, seed=3, progress=False)
    assert result.samples.shape == (2, 1, 64, 64) and result.samples.dtype == torch.float32
    assert result.loss[0] / result.loss[-1] >= 100
    assert result.evaluations == len(result.loss) >= result.iterations
    assert result.seconds > 0
    # the statistics of each sample match the target's: per-sample losses are all small
    residual = (statistics(result.samples) - statistics(target[None])) / statistics.scale(target)
    assert residual.square().mean(dim=1).max() < result.loss[0] / 100
    assert (result.samples[0] - result.samples[1]).abs().mean() > 0.02  # independent samples
    again = synthesize(target, statistics, num_samples=2, n_iter=5, seed=3, progress=False)
    repeat = synthesize(target, statistics, num_samples=2, n_iter=5, seed=3, progress=False)
    assert torch.equal(again.samples, repeat.samples) and again.loss == repeat.loss


def test_gaussian_initialization_starts_from_the_spectrum(brick64):
    target = brick64.float()
    statistics = PhaseHarmonicCovariance2D((64, 64), J=3)
    result = synthesize(target, statistics, n_iter=1, init="gaussian", seed=0, progress=False)
    start = result.initial - result.initial.mean()
    power = torch.fft.fft2(start).abs()
    target_power = torch.fft.fft2(target - target.mean()).abs()
    assert torch.allclose(power[0], target_power, rtol=1e-3, atol=1e-3 * float(target_power.max()))


def test_bad_arguments(brick64):
    statistics = PhaseHarmonicCovariance2D((64, 64), J=3)
    with pytest.raises(ValueError, match="init"):
        synthesize(brick64, statistics, init="zeros")
    with pytest.raises(ValueError, match="n_iter"):
        synthesize(brick64, statistics, n_iter=0)
    with pytest.raises(ValueError, match="one image"):
        synthesize(torch.zeros(2, 1, 64, 64), statistics)
