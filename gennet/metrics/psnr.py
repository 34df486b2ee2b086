"""The PSNR of one image against another, as a Python float: ``10 log10(2² / MSE)`` dB for images in [−1, 1] (data
range 2), the estimate clamped to that range first (what ``explain.py`` prints and labels its partial reconstructions
with; the accumulated PSNR over many images is torchmetrics' ``PeakSignalNoiseRatio``)."""

from __future__ import annotations

import math

import torch

__all__ = ["psnr"]


def psnr(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB of ``estimate`` (clamped to [−1, 1]) against ``reference``, tensors of one shape (any, e.g.
    ``(C, H, W)``); ``inf`` when they are equal."""
    mse = float((estimate.clamp(-1, 1) - reference).pow(2).mean())
    return 10 * math.log10(4.0 / mse) if mse > 0 else math.inf
