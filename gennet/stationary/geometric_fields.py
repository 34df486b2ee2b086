"""Fields of straight-edged and anisotropic objects, built in code with known laws: the part of the suite of
:mod:`gennet.stationary.fields` that tests shapes (issue 33).

Every generator is periodic (a field on the torus ``H × W``), deterministic for a ``seed``, and returns a binary
float64 tensor ``(1, 1, H, W)``; lengths are in pixels and angles in radians.

- :func:`boolean_squares`: the Boolean model of squares with uniform orientations (straight edges, corners). Each
  pixel is covered with probability ``1 − exp(−λ E[s²])`` (Chiu et al. 2013, eq. 3.5, as for the disks).
- :func:`boolean_ellipses`: the Boolean model of ellipses of semi-axes ``a ≥ b`` whose long axes point near one
  direction (a von Mises-like spread ``spread`` around ``orientation``): an anisotropic field; covered fraction
  ``1 − exp(−λ π E[a b])``.
- :func:`voronoi_edges`: the edges of the Poisson–Voronoi tessellation of ``λ`` seeds per pixel, drawn ``width``
  pixels wide: a network of straight segments meeting by three. The mean number of cells is λ·H·W and the mean edge
  length per unit area is 2√λ (Chiu et al. 2013, §9.2, Table 9.1; A. Okabe, B. Boots, K. Sugihara & S. N. Chiu,
  *Spatial tessellations*, 2nd ed., Wiley 2000, Table 5.1.1). A pixel is on an edge when its distance to the
  bisector of its nearest and second-nearest seeds, (d₂² − d₁²) / (2 |s₂ − s₁|), is at most width/2.

Source for the Boolean models: G. Matheron, *Random sets and integral geometry*, Wiley 1975; S. N. Chiu, D. Stoyan,
W. Kendall & J. Mecke, *Stochastic geometry and its applications*, 3rd ed., Wiley 2013, §3.1.
"""

from __future__ import annotations

import math

import torch

__all__ = ["boolean_squares", "boolean_ellipses", "voronoi_edges", "torus_offsets"]


def _check(shape: tuple[int, int], coverage: float | None = None) -> tuple[int, int]:
    H, W = (int(s) for s in shape)
    if H < 2 or W < 2:
        raise ValueError(f"shape must be at least 2×2 pixels, got {shape}")
    if coverage is not None and not 0 < coverage < 1:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    return H, W


def poisson_centres(H: int, W: int, intensity: float, generator: torch.Generator) -> torch.Tensor:
    """A Poisson number (mean ``intensity·H·W``) of uniform points on the ``H × W`` torus, ``(n, 2)`` float64 (row,
    column) (also used by :mod:`gennet.stationary.fields`)."""
    n = int(torch.poisson(torch.tensor(intensity * H * W, dtype=torch.float64), generator=generator))
    return torch.rand(n, 2, generator=generator, dtype=torch.float64) * torch.tensor([H, W], dtype=torch.float64)


def torus_offsets(H: int, W: int, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimal-image offsets (rows ``(n, H, 1)``, columns ``(n, 1, W)``) from each centre ``(n, 2)`` to each pixel of the
    ``H × W`` torus."""
    rows = torch.arange(H, dtype=torch.float64)[None, :, None] - centres[:, 0, None, None]
    cols = torch.arange(W, dtype=torch.float64)[None, None, :] - centres[:, 1, None, None]
    return rows - H * torch.round(rows / H), cols - W * torch.round(cols / W)


def torus_union(H: int, W: int, centres: torch.Tensor, angles: torch.Tensor, inside) -> torch.Tensor:
    """The union of objects centred at ``centres (n, 2)``, turned by ``angles (n,)`` (radians): ``inside(along, across,
    i)`` decides membership from the coordinates along (column = cos, row = sin) and across each object's axis, ``i``
    the slice of the objects in the chunk (chunks of 256 objects). Returns ``(1, 1, H, W)`` float64 in {0, 1} (also
    used by :mod:`gennet.stationary.fields`)."""
    out = torch.zeros(H, W, dtype=torch.bool)
    for start in range(0, len(centres), 256):
        chunk = slice(start, start + 256)
        rows, cols = torus_offsets(H, W, centres[chunk])
        c, s = torch.cos(angles[chunk])[:, None, None], torch.sin(angles[chunk])[:, None, None]
        along, across = rows * s + cols * c, -rows * c + cols * s
        out |= inside(along, across, chunk).any(dim=0)
    return out.to(torch.float64)[None, None]


def boolean_squares(
    shape: tuple[int, int] = (256, 256),
    coverage: float = 0.25,
    side: tuple[float, float] = (10.0, 28.0),
    seed: int = 0,
) -> torch.Tensor:
    """A binary Boolean model of squares on the torus, sides uniform on ``side``, orientations uniform on [0, π/2).

    Args:
        shape: ``(H, W)`` pixels.
        coverage: expected covered fraction in (0, 1); λ = −log(1 − coverage) / E[s²].
        side: ``(low, high)`` pixels, ``0 < low ≤ high``, ``high·√2 < min(H, W)/2``.
        seed: the field is a function of the seed.

    Returns:
        ``(1, 1, H, W)`` float64 in {0, 1}.

    Raises:
        ValueError: a coverage outside (0, 1), sides out of range.
    """
    H, W = _check(shape, coverage)
    low, high = (float(v) for v in side)
    if not 0 < low <= high or high * math.sqrt(2) >= min(H, W) / 2:
        raise ValueError(f"need 0 < low ≤ high and high·√2 < min(H, W)/2; got side={side}")
    generator = torch.Generator().manual_seed(int(seed))
    mean_area = (high**3 - low**3) / (3 * (high - low)) if high > low else low**2
    centres = poisson_centres(H, W, -math.log(1 - coverage) / mean_area, generator)
    n = len(centres)
    angles = torch.rand(n, generator=generator, dtype=torch.float64) * (math.pi / 2)
    half = (low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)) / 2
    return torus_union(H, W, centres, angles, lambda along, across, i: (along.abs() <= half[i, None, None]) & (across.abs() <= half[i, None, None]))


def boolean_ellipses(
    shape: tuple[int, int] = (256, 256),
    coverage: float = 0.25,
    semi_axes: tuple[float, float] = (14.0, 4.0),
    orientation: float = math.pi / 6,
    spread: float = 0.2,
    seed: int = 0,
) -> torch.Tensor:
    """A binary Boolean model of ellipses on the torus, long axes near one direction: an anisotropic field.

    Args:
        shape: ``(H, W)`` pixels.
        coverage: expected covered fraction in (0, 1); λ = −log(1 − coverage) / (π a b).
        semi_axes: ``(a, b)`` pixels, ``a ≥ b > 0``, ``a < min(H, W)/2``; every ellipse has them.
        orientation: the mean direction of the long axes (radians, from the columns' axis towards the rows').
        spread: the long axes' directions are ``orientation + spread · N(0, 1)`` (radians).
        seed: the field is a function of the seed.

    Returns:
        ``(1, 1, H, W)`` float64 in {0, 1}.

    Raises:
        ValueError: a coverage outside (0, 1), semi-axes out of range, ``spread < 0``.
    """
    H, W = _check(shape, coverage)
    a, b = (float(v) for v in semi_axes)
    if not 0 < b <= a < min(H, W) / 2 or spread < 0:
        raise ValueError(f"need 0 < b ≤ a < min(H, W)/2 and spread ≥ 0; got semi_axes={semi_axes}, spread={spread}")
    generator = torch.Generator().manual_seed(int(seed))
    centres = poisson_centres(H, W, -math.log(1 - coverage) / (math.pi * a * b), generator)
    angles = orientation + spread * torch.randn(len(centres), generator=generator, dtype=torch.float64)
    return torus_union(H, W, centres, angles, lambda along, across, i: (along / a).square() + (across / b).square() <= 1)


def voronoi_edges(
    shape: tuple[int, int] = (256, 256),
    intensity: float = 1 / 900,
    width: float = 2.0,
    seed: int = 0,
) -> torch.Tensor:
    """The edges of a Poisson–Voronoi tessellation on the torus, ``width`` pixels wide: 1 on the edges, 0 in the cells.

    Args:
        shape: ``(H, W)`` pixels.
        intensity: λ, seeds per pixel (a cell has λ⁻¹ pixels on average); at least 2 seeds are drawn.
        width: edge width in pixels (> 0).
        seed: the field is a function of the seed.

    Returns:
        ``(1, 1, H, W)`` float64 in {0, 1}.

    Raises:
        ValueError: ``intensity ≤ 0``, ``width ≤ 0``, or cells so large that a seed's cell could wrap onto itself
            (λ⁻¹ > min(H, W)²/16).
    """
    H, W = _check(shape)
    if intensity <= 0 or width <= 0 or 1 / intensity > min(H, W) ** 2 / 16:
        raise ValueError(f"need intensity > 0 with 1/intensity ≤ min(H, W)²/16, and width > 0; got {intensity}, {width}")
    generator = torch.Generator().manual_seed(int(seed))
    seeds = poisson_centres(H, W, intensity, generator)
    if len(seeds) < 2:
        seeds = torch.rand(2, 2, generator=generator, dtype=torch.float64) * torch.tensor([H, W], dtype=torch.float64)
    rows, cols = (offset.expand(-1, H, W) for offset in torus_offsets(H, W, seeds))
    squared = rows.square() + cols.square()  # (n, H, W)
    nearest = squared.topk(2, dim=0, largest=False)
    first, second = nearest.indices[0], nearest.indices[1]
    d1, d2 = nearest.values[0], nearest.values[1]
    # the distance between the two seeds, as images of each other nearest to the pixel (minimal-image offsets)
    offset_rows = rows.gather(0, first[None])[0] - rows.gather(0, second[None])[0]
    offset_cols = cols.gather(0, first[None])[0] - cols.gather(0, second[None])[0]
    separation = torch.sqrt(offset_rows.square() + offset_cols.square()).clamp_min(1e-12)
    return ((d2 - d1) / (2 * separation) <= width / 2).to(torch.float64)[None, None]
