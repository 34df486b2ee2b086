"""Validation of texture samples on statistics the model does not impose (DESIGN §10).

Every function takes samples ``(N, C, H, W)`` and the original ``(1, C, H, W)`` or ``(C, H, W)`` (same size,
same value range) and returns one number per sample (a ``(N,)`` float64 tensor) unless said otherwise:

- :func:`spectrum_error`: mean over radial frequency bins of |log10 P̃(r) − log10 P(r)|, P the radially
  averaged power spectrum (:func:`radial_power_spectrum`), in log10 units (decades).
- :func:`histogram_distance`: Wasserstein-1 distance between the pixel histograms, in units of the
  original's standard deviation.
- :func:`structure_function_error`: mean relative error of the structure functions
  S_q(τ) = E|x(u + τ) − x(u)|^q, q = 1..5 (:func:`structure_functions`), for fields.
- :func:`scattering_error`: relative ℓ2 error of the spatially averaged order-1 and order-2 scattering
  coefficients (gennet's :class:`~gennet.transforms.Scattering2D`, kymatio's layout) of the images standardized
  by the **original's** mean and std; :func:`scattering_order0_error` reports the order-0 term (the mean) apart.
- :func:`portilla_simoncelli_error`: mean over the statistic groups of the Portilla–Simoncelli model
  (plenoptic, a dev extra) of their relative ℓ2 errors.
- :func:`copy_check`: the maximum normalized cross-correlation of a sample with the original over all
  circular shifts (1 for a shifted copy; a memorized patch is not a synthesis).

Colour images: the functions average over channels (the copy check correlates all channels at once).
"""

from __future__ import annotations

import math

import torch

from ..transforms.scattering import Scattering2D

__all__ = [
    "radial_power_spectrum",
    "spectrum_error",
    "histogram_distance",
    "structure_functions",
    "structure_function_error",
    "scattering_error",
    "scattering_order0_error",
    "scattering_means",
    "portilla_simoncelli_error",
    "copy_check",
    "validation_metrics",
    "portilla_simoncelli_scales",
    "STRUCTURE_ORDERS",
]

#: The orders q of the structure functions.
STRUCTURE_ORDERS = (1, 2, 3, 4, 5)


def _pair(samples: torch.Tensor, original: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``samples (N, C, H, W)`` and ``original (1, C, H, W)`` in float64; raises ``ValueError`` on mismatched shapes."""
    if original.dim() == 3:
        original = original[None]
    if samples.dim() == 3:
        samples = samples[None]
    if samples.dim() != 4 or original.dim() != 4 or original.shape[0] != 1 or samples.shape[1:] != original.shape[1:]:
        raise ValueError(
            f"expected samples (N, C, H, W) and one original (C, H, W) of the same size, got {tuple(samples.shape)} "
            f"and {tuple(original.shape)}"
        )
    return samples.detach().to(torch.float64), original.detach().to(torch.float64).to(samples.device)


def radial_power_spectrum(x: torch.Tensor) -> torch.Tensor:
    """Radially averaged power spectrum of images ``(B, C, H, W)``: ``(B, C, R)`` float64, ``R = min(H, W) // 2``.

    Bin ``r = 1..R`` averages |x̂(ω)|² / (H·W) over the frequencies with ``r − ½ ≤ |f|·min(H, W) < r + ½``,
    ``f`` in cycles per pixel (so bins are rings of the same width in both directions for non-square images);
    the mean (r = 0) and the corners beyond the Nyquist ring are left out.
    """
    B, C, H, W = x.shape
    power = torch.fft.fft2(x.to(torch.float64)).abs().square() / (H * W)
    f = torch.sqrt(torch.fft.fftfreq(H, dtype=torch.float64)[:, None] ** 2 + torch.fft.fftfreq(W, dtype=torch.float64)[None, :] ** 2)
    R = min(H, W) // 2
    ring = torch.round(f * min(H, W)).long().to(x.device)
    keep = (ring >= 1) & (ring <= R)
    index = (ring[keep] - 1).expand(B * C, -1)
    sums = torch.zeros(B * C, R, dtype=torch.float64, device=x.device).scatter_add_(1, index, power.reshape(B * C, H * W)[:, keep.flatten()])
    counts = torch.zeros(R, dtype=torch.float64, device=x.device).scatter_add_(0, ring[keep] - 1, torch.ones_like(power[0, 0][keep]))
    return (sums / counts).reshape(B, C, R)


def spectrum_error(samples: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Mean over radial bins (and channels) of |log10 P_sample(r) − log10 P_original(r)| per sample, ``(N,)``."""
    samples, original = _pair(samples, original)
    tiny = torch.finfo(torch.float64).tiny
    ours = radial_power_spectrum(samples).clamp_min(tiny).log10()
    theirs = radial_power_spectrum(original).clamp_min(tiny).log10()
    return (ours - theirs).abs().mean(dim=(1, 2))


def histogram_distance(samples: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Wasserstein-1 distance between the pixel histograms of each sample and of the original, divided by the
    original's standard deviation (per channel, then averaged over channels), ``(N,)``.

    With equally many pixels, W1 between empirical distributions is the mean absolute difference of the
    sorted values (the quantile functions).
    """
    samples, original = _pair(samples, original)
    N, C = samples.shape[:2]
    ours = samples.reshape(N, C, -1).sort(dim=-1).values
    theirs = original.reshape(1, C, -1).sort(dim=-1).values
    std = original.reshape(C, -1).std(dim=-1).clamp_min(1e-12)
    return ((ours - theirs).abs().mean(dim=-1) / std).mean(dim=1)


def structure_functions(x: torch.Tensor, lags: tuple[int, ...] = (1, 2, 4, 8, 16, 32), orders: tuple[int, ...] = STRUCTURE_ORDERS) -> torch.Tensor:
    """S_q(τ) = E|x(u + τ) − x(u)|^q averaged over horizontal and vertical lags τ (periodic), ``(B, C, Q, len(lags))``.

    ``x``: ``(B, C, H, W)`` real; ``lags`` in pixels; ``orders`` the exponents q (in the units of ``x`` to the q)."""
    x = x.to(torch.float64)
    out = []
    for lag in lags:
        increments = torch.cat([(torch.roll(x, -lag, dims=-1) - x).flatten(2), (torch.roll(x, -lag, dims=-2) - x).flatten(2)], dim=-1).abs()
        out.append(torch.stack([increments.pow(q).mean(dim=-1) for q in orders], dim=-1))
    return torch.stack(out, dim=-1)


def structure_function_error(samples: torch.Tensor, original: torch.Tensor, lags: tuple[int, ...] = (1, 2, 4, 8, 16, 32)) -> torch.Tensor:
    """Mean over q = 1..5, lags and channels of |S̃_q(τ) − S_q(τ)| / S_q(τ) per sample, ``(N,)``.

    Lags larger than half the image's smaller side are dropped."""
    samples, original = _pair(samples, original)
    lags = tuple(lag for lag in lags if lag <= min(samples.shape[-2:]) // 2)
    ours, theirs = structure_functions(samples, lags), structure_functions(original, lags)
    return ((ours - theirs).abs() / theirs.clamp_min(1e-300)).mean(dim=(1, 2, 3))


def _standardized(samples: torch.Tensor, original: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sets of images in the original's standard units: ``(y − mean_c(x)) / std_c(x)`` per channel c of the original."""
    C = original.shape[1]
    mean = original.reshape(C, -1).mean(dim=1)[None, :, None, None]
    std = original.reshape(C, -1).std(dim=1).clamp_min(1e-12)[None, :, None, None]
    return (samples - mean) / std, (original - mean) / std


def scattering_means(x: torch.Tensor, J: int, L: int = 8) -> torch.Tensor:
    """Spatial means of the scattering coefficients of images ``(B, C, H, W)``: ``(B, C, K)`` float64 in kymatio's order
    (index 0: order 0, the low-pass ``x ⋆ φ_J``; then ``J·L`` order-1 and ``L²J(J−1)/2`` order-2 coefficients)."""
    transform = Scattering2D(J, tuple(x.shape[-2:]), L=L, max_order=2).to(x.device)
    return transform(x.to(torch.float32)).to(torch.float64).mean(dim=(-2, -1))


def _standardized_scattering_means(samples: torch.Tensor, original: torch.Tensor, J: int | None, L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`scattering_means` of the standardized samples ``(N, C, K)`` and original ``(1, C, K)`` (one transform)."""
    samples, original = _pair(samples, original)
    J = _default_J(samples.shape[-2:]) if J is None else J
    ours, theirs = _standardized(samples, original)
    means = scattering_means(torch.cat([ours, theirs]), J, L)
    return means[:-1], means[-1:]


def _default_J(shape: tuple[int, int]) -> int:
    return max(1, min(4, int(math.log2(min(shape))) - 2))


def scattering_error(samples: torch.Tensor, original: torch.Tensor, J: int | None = None, L: int = 8) -> torch.Tensor:
    """The relative error of the order-1 and order-2 scattering means, on images standardized by the original.

    With ``y' = (y − m) / s`` (``m``, ``s`` the original's channel mean and standard deviation, the same for the
    samples and the original) and ``S̄₁₂`` the spatial means of the order-1 and order-2 scattering coefficients
    (``L`` orientations, ``J`` scales, default ``min(4, log2(min(H, W)) − 2)``; all channels concatenated):

        error(x̃) = ‖S̄₁₂(x̃') − S̄₁₂(x')‖₂ / ‖S̄₁₂(x')‖₂.

    Why this normalization: the order-0 mean ``x ⋆ φ_J`` carries the image's mean, which is large for a field
    whose background is far from 0 (a binary image, a [0, 1] photograph) and says nothing about its structure;
    in the denominator it would make any field with the right mean look close. Orders 1 and 2 (``E|x ⋆ ψ|`` and
    ``E||x ⋆ ψ| ⋆ ψ'|``, zero-mean wavelets) do not depend on the mean and scale with the contrast, so the error
    is invariant to an affine change of units ``a·y + b`` (a > 0) applied to both and cannot be lowered by
    matching the mean; the standardization states these units (the original's std) explicitly.
    :func:`scattering_order0_error` reports the order-0 term apart. Source: S. Mallat, "Group invariant
    scattering", CPAM 2012; J. Bruna & S. Mallat, "Invariant scattering convolution networks", TPAMI 2013
    (scattering means as texture descriptors).

    Args:
        samples: ``(N, C, H, W)``; original: ``(C, H, W)`` or ``(1, C, H, W)`` (same ``C, H, W``).

    Returns:
        ``(N,)`` float64, 0 for the original itself; ≈ 1 for a constant image.

    Raises:
        ValueError: mismatched shapes.
    """
    ours, theirs = (means[:, :, 1:].flatten(1) for means in _standardized_scattering_means(samples, original, J, L))
    return (ours - theirs).norm(dim=1) / theirs.norm(dim=1).clamp_min(1e-300)


def scattering_order0_error(samples: torch.Tensor, original: torch.Tensor, J: int | None = None, L: int = 8) -> torch.Tensor:
    """|S̄₀(x̃') − S̄₀(x')| (mean over channels) per sample, ``(N,)`` float64, in units of the original's std: the
    order-0 scattering mean (of ``x ⋆ φ_J``, ≈ the image mean) on the standardized images of :func:`scattering_error`,
    reported apart from it. ``ValueError`` for mismatched shapes."""
    ours, theirs = (means[:, :, 0] for means in _standardized_scattering_means(samples, original, J, L))
    return (ours - theirs).abs().mean(dim=1)


def portilla_simoncelli_scales(H: int, W: int, width: int) -> int:
    """The most pyramid scales (≤ 4) whose coarsest grid still holds the ``width × width`` correlation window."""
    n = 4
    while n > 1 and (min(H, W) // 2**n < width or H % 2**n or W % 2**n):
        n -= 1
    return n


def portilla_simoncelli_error(samples: torch.Tensor, original: torch.Tensor, spatial_corr_width: int = 7) -> torch.Tensor:
    """Mean over the groups of Portilla–Simoncelli statistics of ‖PS_g(x̃) − PS_g(x)‖ / ‖PS_g(x)‖, per sample ``(N,)``.

    plenoptic's ``PortillaSimoncelli`` (Portilla & Simoncelli, IJCV 2000; 4 orientations, up to 4 scales,
    7×7 correlations: 710 statistics at 256²) on each channel; its groups — pixel statistics, magnitude
    autocorrelations, reconstructed low-pass autocorrelations, skewness, kurtosis and std, cross-orientation
    and cross-scale correlations, high-pass variance — are weighted equally, so that no group's units dominate.

    Raises:
        ModuleNotFoundError: if plenoptic is not installed (``pip install plenoptic``; a dev extra of gennet).
    """
    try:
        from plenoptic.models import PortillaSimoncelli
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "the Portilla-Simoncelli error needs plenoptic (pip install plenoptic, or gennet's dev extra)"
        ) from error
    samples, original = _pair(samples, original)
    N, C, H, W = samples.shape
    model = PortillaSimoncelli((H, W), n_scales=portilla_simoncelli_scales(H, W, spatial_corr_width), spatial_corr_width=spatial_corr_width)
    model = model.to(samples.device)
    with torch.no_grad():
        ours = model.convert_to_dict(model(samples.to(torch.float32).reshape(N * C, 1, H, W)))
        theirs = model.convert_to_dict(model(original.to(torch.float32).reshape(C, 1, H, W)))
    errors = []
    for key, value in theirs.items():
        reference = value.to(torch.float64).reshape(1, C, -1)
        estimate = ours[key].to(torch.float64).reshape(N, C, -1)
        valid = ~torch.isnan(reference[0])
        reference, estimate = reference.nan_to_num(), estimate.nan_to_num() * valid
        norm = reference.norm(dim=-1).clamp_min(1e-12)
        errors.append(((estimate - reference).norm(dim=-1) / norm).mean(dim=1))
    return torch.stack(errors, dim=1).mean(dim=1)


def copy_check(samples: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """max_τ ⟨x̃ − mean, T_τ(x − mean)⟩ / (‖x̃ − mean‖ ‖x − mean‖) over all circular shifts τ, per sample ``(N,)``.

    Computed by FFT (all shifts at once), channels summed; 1 means a (shifted) copy of the original.
    """
    samples, original = _pair(samples, original)
    ours = samples - samples.mean(dim=(-2, -1), keepdim=True)
    theirs = original - original.mean(dim=(-2, -1), keepdim=True)
    correlation = torch.fft.irfft2(torch.fft.rfft2(ours) * torch.fft.rfft2(theirs).conj(), s=ours.shape[-2:]).sum(dim=1)
    norms = ours.flatten(1).norm(dim=1) * theirs.flatten(1).norm(dim=1)
    return correlation.flatten(1).max(dim=1).values / norms.clamp_min(1e-300)


def validation_metrics(samples: torch.Tensor, original: torch.Tensor, portilla_simoncelli: bool = True) -> dict[str, float | None]:
    """Every metric of this module for a set of samples, as plain floats (means over the samples, except
    ``copy_check_max``, the largest over the samples). ``samples``: ``(N, C, H, W)``; ``original``: ``(C, H, W)`` or
    ``(1, C, H, W)``, the same ``C, H, W``; ``ValueError`` otherwise.

    Keys: ``spectrum_error`` (log10 units), ``histogram_w1`` (÷ original's std), ``structure_error``,
    ``scattering_error`` (orders 1–2, standardized), ``scattering_order0`` (the order-0 term apart, in the original's std),
    ``ps_error`` (``None`` when plenoptic is missing or ``portilla_simoncelli`` is false),
    ``copy_check_max``.
    """
    metrics: dict[str, float | None] = {
        "spectrum_error": float(spectrum_error(samples, original).mean()),
        "histogram_w1": float(histogram_distance(samples, original).mean()),
        "structure_error": float(structure_function_error(samples, original).mean()),
        "scattering_error": float(scattering_error(samples, original).mean()),
        "scattering_order0": float(scattering_order0_error(samples, original).mean()),
        "ps_error": None,
        "copy_check_max": float(copy_check(samples, original).max()),
    }
    if portilla_simoncelli:
        try:
            metrics["ps_error"] = float(portilla_simoncelli_error(samples, original).mean())
        except ModuleNotFoundError:
            pass
    return metrics
