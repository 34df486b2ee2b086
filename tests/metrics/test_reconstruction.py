"""Reconstruction quality over batches equals torchmetrics' PSNR and SSIM of the whole set at once; a decoder without
sparse codes reports no code statistics."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from gennet.metrics.reconstruction import CODE_KEYS, reconstruction_quality
from gennet.models import CNNGenerator


def test_batched_measures_equal_the_whole_set():
    torch.manual_seed(0)
    generator = CNNGenerator((16, 16), 1, J=2, L=4, A=4, width=8, min_width=8).eval()
    x = torch.rand(10, 1, 16, 16) * 2 - 1
    out = reconstruction_quality(generator, x.split(4))
    with torch.no_grad():
        w = generator.encode(x)
        x_hat = generator.decode(w).clamp(-1, 1)
        lowpass = generator.lowpass_image(w).clamp(-1, 1)
    assert out["images"] == 10 and not set(CODE_KEYS) & set(out)
    assert out["psnr"] == pytest.approx(float(peak_signal_noise_ratio(x_hat, x, data_range=2.0)), rel=1e-5)
    assert out["psnr_lowpass"] == pytest.approx(float(peak_signal_noise_ratio(lowpass, x, data_range=2.0)), rel=1e-5)
    assert out["ssim"] == pytest.approx(float(structural_similarity_index_measure(x_hat, x, data_range=2.0)), rel=1e-4)
