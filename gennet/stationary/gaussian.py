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

Several images of one process (``(N, C, H, W)``, N > 1): the maximum-entropy model of their mean cross-spectrum
S(ω) = (1/N) Σ_i x̂_i(ω) x̂_i(ω)^H is the Gaussian field whose Fourier coefficients are A(ω) ε(ω), A A^H = S (a
Cholesky factor per frequency) and ε the DFT of white noise (circular Gaussian): its periodogram equals S on
average (seed 001, "Gaussian models of stationary processes"), no longer exactly.
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_samples"]


def gaussian_samples(target: torch.Tensor, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Samples of the Gaussian (random-phase) model of ``target``.

    Args:
        target: ``(C, H, W)`` or ``(1, C, H, W)`` real image (float32 or float64), or ``(N, C, H, W)``: N images of
            one process, whose mean means and cross-spectra the samples get (in expectation; see the module).
        num_samples: number of independent samples, ≥ 1.
        generator: a CPU ``torch.Generator`` for reproducible phases (``None``: the global one).

    Returns:
        ``(num_samples, C, H, W)`` in the target's dtype and device; for one image, each sample has the target's
        channel means and the same |DFT| (per channel) and cross-spectra (between channels) as the target.

    Raises:
        ValueError: if ``target`` is not ``(C, H, W)``/``(N, C, H, W)`` or ``num_samples < 1``.
    """
    if target.dim() == 4 and target.shape[0] == 1:
        target = target[0]
    if target.dim() not in (3, 4):
        raise ValueError(f"target must be (C, H, W) or (N, C, H, W), got {tuple(target.shape)}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be ≥ 1, got {num_samples}")
    if target.dim() == 4:
        return _several_images(target, num_samples, generator)
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


def _several_images(target: torch.Tensor, num_samples: int, generator: torch.Generator | None) -> torch.Tensor:
    """The Gaussian model of the mean cross-spectrum of ``target (N, C, H, W)``: ``(num_samples, C, H, W)``."""
    N, C, H, W = target.shape
    dtype = torch.float64 if target.dtype == torch.float64 else torch.float32
    x = target.to(torch.float64)
    spectrum = torch.fft.rfft2(x - x.mean(dim=(-2, -1), keepdim=True))  # (N, C, H, W/2+1)
    cross = torch.einsum("nchw,ndhw->hwcd", spectrum, spectrum.conj()) / N  # (H, W/2+1, C, C) Hermitian
    jitter = 1e-12 * cross.diagonal(dim1=-2, dim2=-1).real.amax().clamp_min(1e-300)
    factor = torch.linalg.cholesky(cross + jitter * torch.eye(C, dtype=cross.dtype))  # (H, W/2+1, C, C)
    noise = torch.randn(num_samples, C, H, W, generator=generator, dtype=torch.float64)
    white = torch.fft.rfft2(noise) / (H * W) ** 0.5  # E|ε|² = 1
    coefficients = torch.einsum("hwcd,ndhw->nchw", factor, white)
    coefficients[..., 0, 0] = 0
    mean = x.mean(dim=(0, -2, -1))[None, :, None, None]
    return (torch.fft.irfft2(coefficients, s=(H, W)) + mean).to(dtype).to(target.device)
