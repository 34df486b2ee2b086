"""Non-Gaussian stationary test fields with known statistics, built in code (no downloads): the suite on which the
models of :mod:`gennet.stationary` are validated beyond natural textures (issue 20).

Every generator is periodic (a field on the torus ``H × W``), deterministic for a ``seed`` and returns a
float64 tensor ``(1, 1, H, W)``; every length is in pixels.

- :func:`boolean_disks`: the Boolean model of random disks (binary: 1 on the union of the disks). Centres form a
  Poisson process of intensity λ (disks per pixel), radii are i.i.d. from a ``radius_law``. Each pixel is
  covered with probability ``p = 1 − exp(−λ E[π r²])`` (the number of disks covering a point is Poisson of
  mean λ E[area]); :func:`boolean_coverage` states it. Source: G. Matheron, *Random sets and integral
  geometry*, Wiley 1975; S. N. Chiu, D. Stoyan, W. Kendall & J. Mecke, *Stochastic geometry and its
  applications*, 3rd ed., Wiley 2013, §3.1 (eq. 3.5).
- :func:`boolean_segments`: the Boolean model of random segments of width ``width`` (capsules: the points at
  distance ≤ width/2 of a segment of length ℓ, area ``ℓ·width + π (width/2)²``), uniform orientations; the
  same coverage law. A sparse field of thin, long, oriented structures (a line field at a finite length).
- :func:`multifractal_field`: a turbulence-like intermittent field: a fractionally integrated log-normal
  multiplicative chaos. ``ω`` is a Gaussian log-correlated field (power spectrum ``∝ |k|^−2`` between the
  integral scale and the pixel, unit variance), ``Q = exp(γ ω − γ²)`` (E[Q²] = 1) modulates white noise ``w``,
  and ``x = F⁻¹(|k|^−(1 + H) F(Q w))``: increments are Gaussian at large lags and heavy-tailed at small ones (their
  flatness grows as the lag shrinks), structure functions ``S_q(τ) ∝ τ^{ζ(q)}`` with a concave ``ζ`` — the
  signature of turbulence. Source: E. Bacry, J. Delour & J.-F. Muzy, "Multifractal random walk", Phys. Rev. E
  64, 026103 (2001) (the construction in 1-D); R. Robert & V. Vargas, "Hydrodynamic turbulence and
  intermittent random fields", Commun. Math. Phys. 284 (2008) (the 2-D/3-D fields of the same form);
  J.-P. Kahane, "Sur le chaos multiplicatif", Ann. Sci. Math. Québec 9 (1985).

:data:`FIELDS` names the suite that ``benchmarks/bench_fields.py`` runs and :func:`field` builds one by name; it also
holds the squares, anisotropic ellipses and Voronoi cell edges of :mod:`gennet.stationary.geometric_fields`.
"""

from __future__ import annotations

import math

import torch

from .geometric_fields import boolean_ellipses, boolean_squares, poisson_centres, torus_union, voronoi_edges

__all__ = ["RADIUS_LAWS", "FIELDS", "boolean_disks", "boolean_segments", "boolean_coverage", "mean_disk_area",
           "multifractal_field", "log_correlated_field", "field"]

#: Laws of the disks' radii in :func:`boolean_disks`.
RADIUS_LAWS = ("constant", "uniform", "power")


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    H, W = (int(s) for s in shape)
    if H < 2 or W < 2:
        raise ValueError(f"shape must be at least 2×2 pixels, got {shape}")
    return H, W


def _radii(law: str, radius: float | tuple[float, float], n: int, alpha: float, generator: torch.Generator) -> torch.Tensor:
    """``n`` radii (pixels, float64) from ``law``: ``constant`` (``radius``), ``uniform`` on ``radius = (low, high)``,
    ``power`` a Pareto law of density ∝ r^−(1+alpha) truncated to ``radius = (low, high)`` (inverse CDF)."""
    if law == "constant":
        return torch.full((n,), float(radius), dtype=torch.float64)
    low, high = (float(r) for r in radius)
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    if law == "uniform":
        return low + (high - low) * u
    a, b = low ** -alpha, high ** -alpha
    return (a - u * (a - b)) ** (-1 / alpha)


def mean_disk_area(radius_law: str, radius: float | tuple[float, float], alpha: float = 2.0) -> float:
    """E[π r²] (pixels²) of the radius laws of :func:`boolean_disks`, in closed form."""
    if radius_law == "constant":
        return math.pi * float(radius) ** 2
    low, high = (float(r) for r in radius)
    if radius_law == "uniform":
        return math.pi * (high**3 - low**3) / (3 * (high - low))
    # Pareto truncated to [low, high]: density alpha r^−(1+alpha) / (low^−alpha − high^−alpha)
    norm = low ** -alpha - high ** -alpha
    if alpha == 2:
        second = 2 * math.log(high / low) / norm
    else:
        second = alpha * (high ** (2 - alpha) - low ** (2 - alpha)) / ((2 - alpha) * norm)
    return math.pi * second


def boolean_coverage(intensity: float, mean_area: float) -> float:
    """The covered fraction ``1 − exp(−λ E[area])`` of a Boolean model (Chiu et al. 2013, eq. 3.5)."""
    return 1 - math.exp(-intensity * mean_area)


def boolean_disks(
    shape: tuple[int, int] = (256, 256),
    coverage: float = 0.3,
    radius_law: str = "uniform",
    radius: float | tuple[float, float] = (4.0, 16.0),
    alpha: float = 2.0,
    seed: int = 0,
) -> torch.Tensor:
    """A binary Boolean model of disks on the torus: 1 where a pixel centre lies in a disk, else 0.

    Args:
        shape: ``(H, W)`` pixels.
        coverage: the expected covered fraction ``p`` in (0, 1); the intensity is ``λ = −log(1 − p) / E[π r²]``.
        radius_law: ``"constant"`` (``radius`` a number), ``"uniform"`` on ``radius = (low, high)`` or ``"power"``
            (Pareto, density ∝ r^−(1+alpha) on ``[low, high]``: many small disks, a few large ones).
        radius: pixels; every radius must be < min(H, W)/2 (a disk does not wrap onto itself).
        alpha: the exponent of the ``power`` law.
        seed: the field is a function of the seed.

    Returns:
        ``(1, 1, H, W)`` float64 in {0, 1}.

    Raises:
        ValueError: a coverage outside (0, 1), an unknown law, radii ≤ 0 or ≥ min(H, W)/2, or low ≥ high.
    """
    H, W = _check_shape(shape)
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    if radius_law not in RADIUS_LAWS:
        raise ValueError(f"radius_law must be one of {RADIUS_LAWS}, got {radius_law!r}")
    bounds = (float(radius),) if radius_law == "constant" else tuple(float(r) for r in radius)
    if min(bounds) <= 0 or max(bounds) >= min(H, W) / 2 or (len(bounds) == 2 and bounds[0] >= bounds[1]):
        raise ValueError(f"radius must be in (0, min(H, W)/2) (and low < high), got {radius}")
    generator = _generator(seed)
    intensity = -math.log(1 - coverage) / mean_disk_area(radius_law, radius, alpha)
    centres = poisson_centres(H, W, intensity, generator)
    n = len(centres)
    radii = _radii(radius_law, radius, n, alpha, generator)
    return torus_union(H, W, centres, torch.zeros(n, dtype=torch.float64),
                       lambda along, across, i: along.square() + across.square() <= radii[i, None, None].square())


def boolean_segments(
    shape: tuple[int, int] = (256, 256),
    coverage: float = 0.2,
    length: tuple[float, float] = (20.0, 80.0),
    width: float = 2.0,
    seed: int = 0,
) -> torch.Tensor:
    """A binary Boolean model of segments of ``width`` on the torus (capsules: within width/2 of a segment).

    Centres are a Poisson process, orientations uniform on [0, π), lengths uniform on ``length``; the covered
    fraction is ``1 − exp(−λ (E[ℓ]·width + π width²/4))``.

    Args:
        shape: ``(H, W)`` pixels.
        coverage: expected covered fraction in (0, 1).
        length: ``(low, high)`` pixels, ``high + width < min(H, W)/2``.
        width: pixels (> 0).
        seed: the field is a function of the seed.

    Returns:
        ``(1, 1, H, W)`` float64 in {0, 1}.

    Raises:
        ValueError: a coverage outside (0, 1), a width ≤ 0, lengths out of range.
    """
    H, W = _check_shape(shape)
    low, high = (float(v) for v in length)
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    if width <= 0 or low < 0 or low > high or high + width >= min(H, W) / 2:
        raise ValueError(f"need width > 0 and 0 ≤ low ≤ high, high + width < min(H, W)/2; got length={length}, width={width}")
    generator = _generator(seed)
    area = (low + high) / 2 * width + math.pi * width**2 / 4
    intensity = -math.log(1 - coverage) / area
    centres = poisson_centres(H, W, intensity, generator)
    n = len(centres)
    angle = torch.rand(n, generator=generator, dtype=torch.float64) * math.pi
    half = (low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)) / 2

    def inside(along: torch.Tensor, across: torch.Tensor, i: slice) -> torch.Tensor:  # within width/2 of the segment
        excess = (along.abs() - half[i, None, None]).clamp_min(0)
        return excess.square() + across.square() <= (width / 2) ** 2

    return torus_union(H, W, centres, angle, inside)


def _radial_frequency(H: int, W: int) -> torch.Tensor:
    """|k| in cycles per pixel on the ``fft2`` grid, ``(H, W)`` float64."""
    return torch.sqrt(torch.fft.fftfreq(H, dtype=torch.float64)[:, None] ** 2 + torch.fft.fftfreq(W, dtype=torch.float64)[None, :] ** 2)


def log_correlated_field(shape: tuple[int, int], integral_scale: float, generator: torch.Generator) -> torch.Tensor:
    """A centred Gaussian field of power spectrum ∝ |k|^−2 for 1/integral_scale ≤ |k| (cycles per pixel), flat below:
    its covariance decays as −log |τ| between one pixel and ``integral_scale``; unit variance. ``(H, W)`` float64."""
    H, W = shape
    k = _radial_frequency(H, W)
    amplitude = 1 / k.clamp_min(1 / integral_scale)
    amplitude[0, 0] = 0
    white = torch.randn(H, W, generator=generator, dtype=torch.float64)
    omega = torch.fft.ifft2(torch.fft.fft2(white) * amplitude).real
    return omega / omega.std()


def multifractal_field(
    shape: tuple[int, int] = (256, 256),
    intermittency: float = 0.5,
    hurst: float = 0.33,
    integral_scale: float = 128.0,
    seed: int = 0,
) -> torch.Tensor:
    """A turbulence-like field: fractionally integrated white noise modulated by a log-normal multiplicative chaos.

    ``ω`` = :func:`log_correlated_field` (unit variance), ``Q = exp(γ ω − γ²)`` with γ = ``intermittency``
    (E[Q²] = 1, so the modulated white noise ``n = Q · w`` has unit variance), and
    ``x = F⁻¹(|k|^−(1 + hurst) F n)`` (the ``|k| = 0`` bin set to 0; |k| clamped at 1/integral_scale), then
    standardized. γ = 0 gives a Gaussian fractional field (S_2(τ) ∝ τ^(2 hurst)); γ > 0 makes the increments
    intermittent (Bacry, Delour & Muzy 2001; Robert & Vargas 2008).

    Args:
        shape: ``(H, W)`` pixels.
        intermittency: γ ≥ 0.
        hurst: the regularity of the increments, in (0, 1) (1/3 for Kolmogorov 1941).
        integral_scale: pixels, the largest scale of the cascade and of the fractional integration.
        seed: the field is a function of the seed.

    Returns:
        ``(1, 1, H, W)`` float64, mean 0, std 1.

    Raises:
        ValueError: γ < 0, hurst outside (0, 1) or integral_scale < 2.
    """
    H, W = _check_shape(shape)
    if intermittency < 0 or not 0 < hurst < 1 or integral_scale < 2:
        raise ValueError(f"need intermittency ≥ 0, 0 < hurst < 1, integral_scale ≥ 2; got {intermittency}, {hurst}, {integral_scale}")
    generator = _generator(seed)
    omega = log_correlated_field((H, W), integral_scale, generator)
    chaos = torch.exp(intermittency * omega - intermittency**2)
    noise = chaos * torch.randn(H, W, generator=generator, dtype=torch.float64)
    k = _radial_frequency(H, W).clamp_min(1 / integral_scale)
    kernel = k ** -(1 + hurst)
    kernel[0, 0] = 0
    x = torch.fft.ifft2(torch.fft.fft2(noise) * kernel).real
    return ((x - x.mean()) / x.std())[None, None]


#: The suite of issues 20 and 33: name → (generator, keyword arguments), each at any ``shape``. Squares, ellipses
#: (anisotropic: long axes near π/6) and Voronoi cells (straight edges meeting by three) are
#: :mod:`gennet.stationary.geometric_fields`.
FIELDS: dict[str, tuple] = {
    "disks_uniform": (boolean_disks, dict(coverage=0.3, radius_law="uniform", radius=(4.0, 16.0))),
    "disks_sparse_constant": (boolean_disks, dict(coverage=0.1, radius_law="constant", radius=6.0)),
    "disks_power": (boolean_disks, dict(coverage=0.4, radius_law="power", radius=(2.0, 24.0), alpha=2.0)),
    "segments": (boolean_segments, dict(coverage=0.2, length=(20.0, 80.0), width=2.0)),
    "turbulence": (multifractal_field, dict(intermittency=0.5, hurst=0.33, integral_scale=128.0)),
    "squares": (boolean_squares, dict(coverage=0.25, side=(10.0, 28.0))),
    "ellipses": (boolean_ellipses, dict(coverage=0.25, semi_axes=(14.0, 4.0), orientation=math.pi / 6, spread=0.2)),
    "cells": (voronoi_edges, dict(intensity=1 / 900, width=2.0)),
}


def field(name: str, shape: tuple[int, int] = (256, 256), seed: int = 0) -> torch.Tensor:
    """The suite's field ``name`` (:data:`FIELDS`) at ``shape``, ``(1, 1, H, W)`` float64; radii and lengths are in
    pixels of a 256² field and scale with ``min(H, W) / 256``.

    Raises:
        KeyError: an unknown name (the message lists the suite).
    """
    if name not in FIELDS:
        raise KeyError(f"unknown field {name!r}; the suite: {', '.join(FIELDS)}")
    generator, kwargs = FIELDS[name]
    factor = min(shape) / 256
    kwargs = dict(kwargs)
    for key in ("radius", "length", "side", "semi_axes"):
        if key in kwargs:
            value = kwargs[key]
            kwargs[key] = tuple(v * factor for v in value) if isinstance(value, tuple) else value * factor
    if "width" in kwargs:
        kwargs["width"] = max(kwargs["width"] * factor, 1.5)
    if "intensity" in kwargs:
        kwargs["intensity"] = kwargs["intensity"] / factor**2
    if "integral_scale" in kwargs:
        kwargs["integral_scale"] = kwargs["integral_scale"] * factor
    return generator(shape, seed=seed, **kwargs)
