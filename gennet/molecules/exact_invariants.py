"""Scattering invariants of Gaussian densities in closed form, with no grid (Parseval).

For the density ``x(u) = Σ_k w_k g_σ(u − r_k)`` (``g_σ`` the normalized Gaussian, ``x̂(ω) = Σ_k w_k e^{−iω·r_k}
e^{−σ²|ω|²/2}``) and the solid harmonic wavelets of :mod:`.harmonic_scattering`
(``ψ̂_{j,l,m}(ω) = N_l (−i)^l σ_j^l R_{l,m}(ω) e^{−σ_j²|ω|²/2}``), the first-order invariant with ``q = 2`` is

    ∫ (U[j,l] x)² du = Σ_m ∫ |x ⋆ ψ_{j,l,m}|² du = (2π)⁻³ ∫ |x̂(ω)|² Σ_m |ψ̂_{j,l,m}(ω)|² dω
                     = Σ_{k,k'} w_k w_k' F_{j,l}(|r_k − r_k'|),

because ``Σ_m R_{l,m}(ω)² = (2l+1)/(4π) |ω|^{2l}`` (the addition theorem) makes the filter's energy radial. With
``s² = σ² + σ_j²`` and ``a = 1 / 4s²``, ``|ω|^{2l}`` is ``(−Δ)^l`` in space and
``(−Δ)^l e^{−a r²} = (4a)^l l! L_l^{(1/2)}(a r²) e^{−a r²}`` (``L^{(1/2)}_l`` the generalized Laguerre polynomial), so

    F_{j,l}(r) = N_l² σ_j^{2l} (2l+1)/(4π) (4π s²)^{−3/2} (4a)^l l! L_l^{(1/2)}(a r²) e^{−a r²}.

The order-0 integrals of powers 2 and 3 are closed forms too: ``∫ x² = Σ_{k,k'} w_k w_k' g_{√2σ}(r_k − r_k')`` and
``∫ x³ = Σ_{k,k',k''} w_k w_k' w_k'' (2πσ²)⁻³ 3^{−3/2} exp(−(d_kk'² + d_k'k''² + d_kk''²) / 6σ²)``.

The order-0 ``∫ x_c x_c'`` is the width-0 case of the first, ``∫ x_c³`` the width-0 case of :func:`cubic_invariants`.
These are the invariants a grid computes (tests/molecules/test_exact_invariants.py compares them with
:class:`.HarmonicScattering3D` on a grid fine enough for both), without its cost or its aliasing: they are exact
for any σ, exactly invariant to rotations, and cost ``O(A²)`` per molecule and scale. Other powers ``q`` and the
second order have no such form. Source: Eickenberg, Exarchakis, Hirn, Mallat & Thiry, J. Chem. Phys. 148,
241732 (2018), eqs. 9–11 (the invariants); the Laguerre form of ``(−Δ)^l`` of a Gaussian is Abramowitz & Stegun
22.5.40 with the radial Laplacian in three dimensions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .harmonic_scattering import _normalization

__all__ = ["channel_pairs", "cubic_invariants", "pair_energy_invariants", "pair_radial_function"]


def _laguerre_half(l: int, t: torch.Tensor) -> torch.Tensor:
    """``L_l^{(1/2)}(t) = Σ_{i=0}^{l} (−1)^i C(l + ½, l − i) t^i / i!`` (a polynomial, evaluated by Horner)."""
    coefficients = []
    for i in range(l + 1):
        binomial = math.gamma(l + 1.5) / (math.gamma(l - i + 1) * math.gamma(i + 1.5))
        coefficients.append((-1) ** i * binomial / math.factorial(i))
    out = torch.full_like(t, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        out = out * t + c
    return out


def pair_radial_function(r: torch.Tensor, sigma: float, sigma_j: float, l: int) -> torch.Tensor:
    """``F_{j,l}(r)`` of the module docstring: the contribution of two unit charges ``r`` Å apart to
    ``∫ (U[j,l] x)² du``.

    Args:
        r: distances, Å, any shape (float64 advised).
        sigma: the atoms' Gaussian width σ, Å (> 0). sigma_j: the wavelet's width, Å (> 0). l: degree, ≥ 0.
    Returns:
        ``F`` of ``r``'s shape and dtype, in Å⁻³.
    """
    s2 = sigma**2 + sigma_j**2
    a = 1.0 / (4.0 * s2)
    constant = (_normalization(l) ** 2 * sigma_j ** (2 * l) * (2 * l + 1) / (4 * math.pi)
                * (4 * math.pi * s2) ** -1.5 * (4 * a) ** l * math.factorial(l))
    t = a * r * r
    return constant * _laguerre_half(l, t) * torch.exp(-t)


def _check(positions: torch.Tensor, weights: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    positions = torch.as_tensor(positions, dtype=torch.float64)
    weights = torch.as_tensor(weights, dtype=torch.float64, device=positions.device)
    if positions.dim() != 3 or positions.shape[-1] != 3 or weights.dim() != 3 or weights.shape[:2] != positions.shape[:2]:
        raise ValueError(f"positions must be (B, A, 3) and weights (B, A, C), got {tuple(positions.shape)} and {tuple(weights.shape)}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    return positions, weights


def channel_pairs(C: int, cross: bool) -> list[tuple[int, int]]:
    """The channel pairs ``(c, c')`` of :func:`pair_energy_invariants`: ``c = c'`` only, or every ``c ≤ c'``
    (lexicographic)."""
    return [(a, b) for a in range(C) for b in range(a, C) if cross or a == b]


def pair_energy_invariants(
    positions: torch.Tensor, weights: torch.Tensor, sigma: float, scales: Sequence[float], L: int, cross: bool = False
) -> torch.Tensor:
    """The first-order ``q = 2`` invariants ``∫ (U[j,l] x_c)² du`` of every channel, by the sum over atom pairs;
    with ``cross``, also ``∫ Σ_m (x_c ⋆ ψ_{j,l,m})(x_c' ⋆ ψ_{j,l,m}) du = Σ_{k,k'} w_kc w_k'c' F_{j,l}(r_kk')`` for
    ``c < c'`` — by polarization ``¼ (∫ (U[j,l](x_c + x_c'))² − ∫ (U[j,l](x_c − x_c'))²)``, invariants of the
    channels' sums and differences.

    Args:
        positions: ``(B, A, 3)`` Å (any placement: the result is invariant to rigid motions).
        weights: ``(B, A, C)`` charges per channel, 0 on padding atoms.
        sigma: the atoms' Gaussian width, Å. scales: the wavelets' widths ``σ_j``, Å (any list, e.g. half-octaves);
            a width 0 gives the order-0 ``∫ x_c x_c'`` at ``l = 0`` (``ψ_{j,0}`` tends to a Dirac) and 0 for ``l > 0``.
        L: the largest degree. cross: every channel pair (:func:`channel_pairs`), not only ``c = c'``.
    Returns:
        ``(B, len(channel_pairs(C, cross)), len(scales), L + 1)`` float64, e²/Å³ (the grid's
        ``h³ Σ_voxels (U[j,l]x)²``).
    Raises:
        ValueError: shapes that do not match, ``sigma`` ≤ 0, a scale < 0, ``L < 0``.
    """
    positions, weights = _check(positions, weights, sigma)
    scales = [float(s) for s in scales]
    if not scales or min(scales) < 0 or L < 0:
        raise ValueError(f"scales must be widths >= 0 and L >= 0, got {scales} and L={L}")
    first, second = zip(*channel_pairs(weights.shape[-1], cross))
    left, right = weights[..., list(first)], weights[..., list(second)]
    r = torch.cdist(positions, positions)  # (B, A, A)
    out = torch.empty(len(weights), len(first), len(scales), L + 1, dtype=torch.float64, device=positions.device)
    for j, sigma_j in enumerate(scales):
        for l in range(L + 1):
            F = pair_radial_function(r, sigma, sigma_j, l)
            out[..., j, l] = torch.einsum("bkp,bkq,bqp->bp", left, F, right)
    return out


def cubic_invariants(positions: torch.Tensor, weights: torch.Tensor, sigma: float, scales: Sequence[float]) -> torch.Tensor:
    """``∫ (U[j,0] x_c)³ du`` in closed form: ``ψ_{j,0}`` is the normalized Gaussian of width ``σ_j`` (``N_0 R_{0,0} = 1``),
    so ``U[j,0] x = x ⋆ g_{σ_j}`` is the density smoothed to ``s = (σ² + σ_j²)^{1/2}`` (non-negative weights), and the
    integral of its cube is a sum over atom triples (module docstring) — a three-body term that sees angles. A
    scale ``0`` gives the order-0 ``∫ x_c³``.

    Args:
        positions, weights, sigma: as :func:`pair_energy_invariants`. scales: widths ``σ_j ≥ 0``, Å.
    Returns:
        ``(B, C, len(scales))`` float64, e³/Å⁶.
    """
    positions, weights = _check(positions, weights, sigma)
    if any(float(s) < 0 for s in scales):
        raise ValueError(f"scales must be >= 0, got {list(scales)}")
    d2 = torch.cdist(positions, positions) ** 2
    out = []
    for sigma_j in scales:
        s2 = sigma**2 + float(sigma_j) ** 2
        E = torch.exp(-d2 / (6 * s2))
        triple = torch.einsum("bic,bij,bjc,bjk,bkc,bik->bc", weights, E, weights, E, weights, E)
        out.append(triple * (2 * math.pi * s2) ** -3 * 3**-1.5)
    return torch.stack(out, -1)
