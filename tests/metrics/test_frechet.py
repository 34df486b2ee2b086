"""Fréchet distances on download-free scattering features: zero for a set against itself, growing with a shift of the
images, and the PSNR of one image against torchmetrics'; an unknown feature is refused."""

from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio

from gennet.metrics import ScatteringStatistics, frechet_distance, psnr


def _textures(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 1, 16, 16, generator=g) * 2 - 1).clamp(-1, 1)


def test_scattering_features_shape():
    features = ScatteringStatistics((16, 16), 3)
    out = features(torch.rand(2, 3, 16, 16))
    assert out.shape == (2, features.num_features) and out.dtype == torch.float32 and torch.isfinite(out).all()


def test_frechet_distance_on_scattering_features():
    real = _textures(64, 0)
    same, status = frechet_distance([real[:32], real[32:]], [real], (1, 16, 16), feature="scattering")
    assert status == "computed on scattering features" and abs(same) < 1e-3
    other, _ = frechet_distance([real], [_textures(64, 1)], (1, 16, 16), feature="scattering")
    shifted, _ = frechet_distance([real], [(0.5 * _textures(64, 1) + 0.3)], (1, 16, 16), feature="scattering")
    assert 0 < other < shifted
    with pytest.raises(ValueError, match="fid.feature"):
        frechet_distance([real], [real], (1, 16, 16), feature="pixels")


def test_psnr_agrees_with_torchmetrics():
    x, y = _textures(1, 2)[0], _textures(1, 3)[0]
    assert psnr(1.5 * x, y) == pytest.approx(float(peak_signal_noise_ratio((1.5 * x).clamp(-1, 1), y, data_range=2.0)), rel=1e-5)
    assert psnr(y, y) == math.inf
