"""The Gaussian baseline of a stationary process: the target's power spectrum with random phases (DESIGN §10).

A maximum-entropy model conditioned on the d autocovariances Σ_u x(u) x(u − τ) is Gaussian (seed 001,
"Gaussian models of stationary processes"). Its samples here keep the target's Fourier modulus exactly and
draw the phases at random ("random phase noise": B. Galerne, Y. Gousseau & J.-M. Morel, "Random phase
textures: theory and synthesis", IEEE TIP 2011):

    x̃_c = mean(x_c) + F⁻¹( (F x_c − F x_c(0)·δ) · e^{iθ(ω)} ),   θ(−ω) = −θ(ω),

with one phase field θ for all colour channels, so that the cross-spectra F x_c conj(F x_c') — the
colour covariances at every shift — are kept as well. θ is the phase of the DFT of white Gaussian noise
(uniform and Hermitian-symmetric; the bins equal to their own mirror get a random sign), so the sample is
real, periodic and has exactly the target's periodogram: no structure across scales.
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_samples"]


def gaussian_samples(target: torch.Tensor, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Samples of the Gaussian (random-phase) model of ``target``.

    Args:
        target: ``(C, H, W)`` or ``(1, C, H, W)`` real image (float32 or float64).
        num_samples: number of independent samples, ≥ 1.
        generator: a CPU ``torch.Generator`` for reproducible phases (``None``: the global one).

    Returns:
        ``(num_samples, C, H, W)`` in the target's dtype and device; each sample has the target's channel
        means and the same |DFT| (per channel) and cross-spectra (between channels) as the target.

    Raises:
        ValueError: if ``target`` is not ``(C, H, W)``/``(1, C, H, W)`` or ``num_samples < 1``.
    """
    if target.dim() == 4 and target.shape[0] == 1:
        target = target[0]
    if target.dim() != 3:
        raise ValueError(f"target must be (C, H, W) or (1, C, H, W), got {tuple(target.shape)}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be ≥ 1, got {num_samples}")
    C, H, W = target.shape
    dtype = torch.float64 if target.dtype == torch.float64 else torch.float32
    x = target.to(dtype)
    spectrum = torch.fft.rfft2(x)  # (C, H, W/2+1)
    mean = x.mean(dim=(-2, -1), keepdim=True)
    noise = torch.randn(num_samples, 1, H, W, generator=generator, dtype=dtype).to(x.device)
    noise_hat = torch.fft.rfft2(noise)
    phase = noise_hat / noise_hat.abs().clamp_min(torch.finfo(dtype).tiny)
    phased = spectrum[None] * phase
    phased[..., 0, 0] = 0
    return torch.fft.irfft2(phased, s=(H, W)) + mean
