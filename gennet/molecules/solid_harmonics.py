"""Real solid harmonics: the homogeneous harmonic polynomials ``R_{l,m}(u) = |u|^l Y_{l,m}(u/|u|)``.

``Y_{l,m}`` (``-l ≤ m ≤ l``) are the real spherical harmonics, orthonormal on the unit sphere:
``Y_{l,0} = K_{l,0} P_l(cos θ)``, ``Y_{l,m} = √2 K_{l,m} P_l^m(cos θ) cos(mφ)`` (m > 0) and
``√2 K_{l,|m|} P_l^{|m|}(cos θ) sin(|m|φ)`` (m < 0), ``K_{l,m} = √((2l+1)/(4π) (l−m)!/(l+m)!)``.
They are evaluated as polynomials, with no angles: ``r^l P_l^m(cos θ) = Q_{l,m}(z, r²) (r sin θ)^m`` where
``Q`` follows the three-term recurrence of the associated Legendre functions, and
``(r sin θ)^m cos(mφ) + i (r sin θ)^m sin(mφ) = (x + i y)^m``.

The real basis spans the same space as the complex ``r^l Y_l^m`` by a unitary change of basis, so
``Σ_m |f ⋆ R_{l,m} g|²`` is the same with either (the rotation-invariant modulus of solid harmonic scattering);
the addition theorem gives ``Σ_m R_{l,m}(u)² = (2l+1)/(4π) |u|^{2l}``.

Source: Eickenberg et al., NeurIPS 2017, §2 (solid harmonic wavelets); the recurrence is Abramowitz & Stegun 8.5.3.
"""

from __future__ import annotations

import math

import torch

__all__ = ["real_solid_harmonics"]


def real_solid_harmonics(x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, L: int) -> list[torch.Tensor]:
    """``[R_0, R_1, …, R_L]`` with ``R_l`` of shape ``(2l+1, *x.shape)``, rows ordered ``m = -l … l``.

    Args:
        x, y, z: real tensors of one (broadcast) shape: the Cartesian coordinates (any unit; ``R_l`` has that
            unit to the power l).
        L: largest degree, ``L ≥ 0``.
    Raises:
        ValueError: ``L < 0``.
    """
    if L < 0:
        raise ValueError(f"L must be >= 0, got {L}")
    x, y, z = torch.broadcast_tensors(x, y, z)
    r2 = x * x + y * y + z * z
    # (x + i y)^m, real and imaginary parts
    cos_m, sin_m = [torch.ones_like(x)], [torch.zeros_like(x)]
    for _ in range(L):
        c, s = cos_m[-1], sin_m[-1]
        cos_m.append(c * x - s * y)
        sin_m.append(c * y + s * x)
    # Q[l][m]: r^(l-m) P_l^m(z/r) / sin^m θ, a polynomial in z and r²
    Q = [[None] * (L + 1) for _ in range(L + 1)]
    for m in range(L + 1):
        Q[m][m] = torch.full_like(x, float(math.prod(range(2 * m - 1, 0, -2))))  # (2m-1)!!
        if m + 1 <= L:
            Q[m + 1][m] = (2 * m + 1) * z * Q[m][m]
        for l in range(m + 2, L + 1):
            Q[l][m] = ((2 * l - 1) * z * Q[l - 1][m] - (l + m - 1) * r2 * Q[l - 2][m]) / (l - m)
    out = []
    for l in range(L + 1):
        rows = []
        for m in range(-l, l + 1):
            a = abs(m)
            k = math.sqrt((2 * l + 1) / (4 * math.pi) * math.factorial(l - a) / math.factorial(l + a))
            if m == 0:
                rows.append(k * Q[l][0])
            else:
                rows.append(math.sqrt(2.0) * k * Q[l][a] * (cos_m[a] if m > 0 else sin_m[a]))
        out.append(torch.stack(rows))
    return out
