"""Solid harmonic wavelet scattering of 3D signals, invariant to translations and rotations.

Wavelets (Eickenberg, Exarchakis, Hirn, Mallat, NeurIPS 2017, eq. 4; Eickenberg et al., J. Chem. Phys. 148,
241732, 2018, §II.C): a Gaussian times a solid harmonic of degree l, dilated by ``2^j``,

    ψ_{j,l,m}(u) ∝ σ_j^{-(l+3)} R_{l,m}(u) exp(−|u|² / 2σ_j²),      σ_j = σ_0 2^j,  0 ≤ j ≤ J,  0 ≤ l ≤ L,

built in the Fourier domain, where the Fourier transform of a Gaussian-windowed solid harmonic is the same kind
of function: ``ψ̂_{j,l,m}(ω) = N_l (−i)^l σ_j^l R_{l,m}(ω) exp(−σ_j² |ω|² / 2)``. ``N_l`` is the normalization of
the reference implementation (kymatio 0.3.0: ``ψ̂_{j,0} = exp(−σ_j²|ω|²/2)``, its DC gain 1), so that the two
agree coefficient by coefficient (tests/molecules/test_kymatio_parity.py).

``R_{l,m}`` are the *real* solid harmonics (:mod:`.solid_harmonics`): each ``x ⋆ ψ_{j,l,m}`` of a real ``x`` is
real, so one real inverse FFT per wavelet suffices; the rotation-invariant modulus

    U[j,l] x(u) = ( Σ_{m=-l}^{l} |x ⋆ ψ_{j,l,m}(u)|² )^{1/2}

is the same as with complex harmonics (a unitary change of basis in m). Invariants are integrals (sums over
the voxels) of powers ``q`` of the moduli: first order ``∫ (U[j,l] x)^q``, second order
``∫ (U[j2,l] U[j1,l] x)^q`` for ``j1 < j2`` (the same l, as the reference). Convolutions are circular (the grid
is a torus): a signal must stay a few ``σ_J`` away from its periodic copies (see :mod:`.density`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .solid_harmonics import real_solid_harmonics

__all__ = ["HarmonicScattering3D", "solid_harmonic_filters"]


def _normalization(l: int) -> float:
    """``N_l``: the reference's normalization of ``ψ̂_{j,l,·}`` (for l = 0: ``N_0 R_{0,0} = 1``)."""
    if l % 2 == 0:
        c = 1.0 / (2 * math.pi * math.sqrt(l + 0.5) * math.prod(range(l + 1, 0, -2)))
    else:
        c = 1.0 / (2 ** (0.5 * (l + 3)) * math.sqrt(math.pi * (2 * l + 1)) * math.factorial((l + 1) // 2))
    return c * (2 * math.pi) ** 1.5


def _frequencies(shape: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Angular frequencies (radians per voxel) of the half spectrum of ``rfftn`` over a ``shape`` grid, float64,
    broadcast to ``(M, N, O // 2 + 1)``."""
    M, N, O = shape
    w0 = 2 * math.pi * torch.fft.fftfreq(M, dtype=torch.float64)
    w1 = 2 * math.pi * torch.fft.fftfreq(N, dtype=torch.float64)
    w2 = 2 * math.pi * torch.fft.rfftfreq(O, dtype=torch.float64)
    return torch.meshgrid(w0, w1, w2, indexing="ij")


def solid_harmonic_filters(shape: Sequence[int], J: int, L: int, sigma_0: float) -> torch.Tensor:
    """The Fourier transforms ``ψ̂_{j,l,m}`` on the half spectrum of ``rfftn``.

    Args:
        shape: ``(M, N, O)`` voxels.
        J, L: scales ``0 … J`` and degrees ``0 … L``.
        sigma_0: width of the mother wavelet, voxels.
    Returns:
        ``(J + 1, (L + 1)², M, N, O // 2 + 1)`` complex128; row ``l² + l + m`` holds degree l, order m.
    """
    w = _frequencies(shape)
    radius2 = w[0] ** 2 + w[1] ** 2 + w[2] ** 2
    harmonics = torch.cat(real_solid_harmonics(*w, L))  # ((L+1)², M, N, O')
    scale = torch.cat([torch.full((2 * l + 1,), float(l)) for l in range(L + 1)]).to(torch.float64)
    factor = torch.cat([torch.full((2 * l + 1,), _normalization(l)) for l in range(L + 1)]).to(torch.complex128)
    phase = torch.cat([torch.full((2 * l + 1,), (-1j) ** l, dtype=torch.complex128) for l in range(L + 1)])
    filters = []
    for j in range(J + 1):
        sigma = sigma_0 * 2.0**j
        gauss = torch.exp(-0.5 * sigma**2 * radius2)
        filters.append((factor * phase * sigma**scale)[:, None, None, None] * harmonics * gauss)
    return torch.stack(filters)


class HarmonicScattering3D(nn.Module):
    """Solid harmonic scattering invariants of 3D signals, orders 1 and 2.

    Args:
        J: largest scale index (wavelet widths ``σ_0 2^j``, ``0 ≤ j ≤ J``), ``J ≥ 0``.
        shape: ``(M, N, O)``, the grid in voxels (even sizes recommended: frequencies as ``torch.fft.fftfreq``).
        L: largest degree of the solid harmonics, ``L ≥ 0``.
        sigma_0: width of the mother wavelet, voxels (> 0). Below ~1.5 voxels the Gaussian is cut at the
            Nyquist frequency and invariance degrades.
        max_order: 1 or 2.
        integral_powers: the exponents ``q > 0`` of the invariants ``∫ U^q``.
        dtype: real dtype of the computation (float32 or float64).
        subsample: None (every scale on the full grid, as the reference), or a width in voxels: scale j is
            computed on the grid subsampled by the largest power of two ``s_j`` with ``σ_j / s_j ≥ subsample``
            that divides the shape into even sizes (its wavelets' spectra are negligible beyond the coarse
            grid's band: at ``subsample = 1.6`` below 4·10⁻⁴ of their peak for L ≤ 3). Second-order paths run
            on the grid of ``j2``. Sums over coarse voxels are multiplied by ``s_j³``, so the invariants keep
            the full grid's units.

    Shapes:
        ``forward(x)``: ``x (B, M, N, O)`` real → ``(B, K, L + 1, P)``, ``K = (J + 1) + J (J + 1) / 2`` paths —
        first the J + 1 first-order paths ``j``, then the second-order pairs ``(j1, j2)``, ``j1 < j2``,
        lexicographic — ``P = len(integral_powers)``. The same layout as kymatio's ``HarmonicScattering3D``.
        ``scattering_fourier(x_hat)`` takes ``rfftn(x)``, ``(B, M, N, O // 2 + 1)`` complex.
        Units: sums over voxels (multiply by the voxel volume for an integral in physical units).

    Raises:
        ValueError: a parameter out of range.
    """

    def __init__(
        self,
        J: int,
        shape: Sequence[int],
        L: int = 3,
        sigma_0: float = 1.0,
        max_order: int = 2,
        integral_powers: Sequence[float] = (0.5, 1.0, 2.0),
        dtype: torch.dtype = torch.float32,
        subsample: float | None = None,
    ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in shape)
        if len(shape) != 3 or min(shape) < 2:
            raise ValueError(f"shape must be three sizes >= 2, got {shape}")
        if J < 0 or L < 0:
            raise ValueError(f"J and L must be >= 0, got J={J}, L={L}")
        if not sigma_0 > 0:
            raise ValueError(f"sigma_0 must be > 0, got {sigma_0}")
        if max_order not in (1, 2):
            raise ValueError(f"max_order must be 1 or 2, got {max_order}")
        powers = tuple(float(q) for q in integral_powers)
        if not powers or min(powers) <= 0:
            raise ValueError(f"integral_powers must be positive numbers, got {list(integral_powers)}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.J, self.L, self.shape, self.sigma_0 = int(J), int(L), shape, float(sigma_0)
        self.max_order, self.integral_powers, self.dtype = int(max_order), powers, dtype
        if subsample is not None and not subsample > 0:
            raise ValueError(f"subsample must be None or > 0, got {subsample}")
        complex_dtype = torch.complex64 if dtype == torch.float32 else torch.complex128
        #: subsampling factor of each scale
        self.factors = [self._factor(sigma_0 * 2.0**j, subsample) for j in range(J + 1)]
        for j, s in enumerate(self.factors):
            coarse = tuple(n // s for n in shape)
            self.register_buffer(f"filters_{j}", solid_harmonic_filters(coarse, 0, L, sigma_0 * 2.0**j / s)[0].to(complex_dtype), persistent=False)
        #: degree l of each filter row (``(L + 1)²`` rows)
        self.register_buffer("degree", torch.cat([torch.full((2 * l + 1,), l) for l in range(L + 1)]), persistent=False)

    def _factor(self, sigma: float, subsample: float | None) -> int:
        s = 1
        while subsample is not None and sigma / (2 * s) >= subsample and all(n % (4 * s) == 0 for n in self.shape):
            s *= 2
        return s

    def _grid(self, s: int) -> tuple[int, int, int]:
        return tuple(n // s for n in self.shape)

    def _crop(self, hat: torch.Tensor, s_from: int, s_to: int) -> torch.Tensor:
        """The half spectrum on the grid subsampled by ``s_from`` → its band on the grid subsampled by ``s_to``
        (``s_to ≥ s_from``), both in the full grid's normalization (spectrum of the full grid's samples)."""
        if s_to == s_from:
            return hat
        M, N, O = self._grid(s_from)
        m, n, o = self._grid(s_to)
        i0 = (torch.fft.fftfreq(m, device=hat.device) * m).round().long() % M
        i1 = (torch.fft.fftfreq(n, device=hat.device) * n).round().long() % N
        return hat[..., i0, :, :][..., :, i1, :][..., : o // 2 + 1]

    @property
    def num_paths(self) -> int:
        """``K``: first-order scales plus second-order pairs."""
        return self.J + 1 + (self.J * (self.J + 1) // 2 if self.max_order == 2 else 0)

    def _modulus(self, hat: torch.Tensor, j: int) -> torch.Tensor:
        """``(B, (L+1)², …)`` spectra (full-grid normalization, on the grid of scale j) of the inputs row by row
        → ``(B, L + 1, M_j, N_j, O_j)`` moduli ``U[j, l]`` sampled on the grid of scale j."""
        s = self.factors[j]
        y = torch.fft.irfftn(hat * getattr(self, f"filters_{j}"), s=self._grid(s), dim=(-3, -2, -1))
        if s > 1:
            y = y / s**3
        energy = y * y
        sums = [energy[:, l * l : (l + 1) ** 2].sum(1) for l in range(self.L + 1)]
        return torch.stack(sums, 1).sqrt()

    def _integrals(self, u: torch.Tensor, s: int = 1) -> torch.Tensor:
        """``(B, C, M_s, N_s, O_s)`` → ``(B, C, P)`` sums over voxels of ``u^q`` (× s³: full-grid voxels)."""
        flat = u.flatten(-3)
        out = []
        for q in self.integral_powers:
            v = flat if q == 1 else flat * flat if q == 2 else flat.pow(q)
            out.append(v.sum(-1))
        return torch.stack(out, -1) * s**3

    def first_order_moduli(self, x_hat: torch.Tensor, j: int) -> torch.Tensor:
        """``U[j, l] x`` for all l: ``x_hat (B, M, N, O')`` (``rfftn(x)``) → ``(B, L + 1, M_j, N_j, O_j)`` real
        (the grid of scale j: the full grid divided by ``factors[j]``)."""
        return self._modulus(self._crop(x_hat, 1, self.factors[j])[:, None], j)

    def scattering_fourier(self, x_hat: torch.Tensor) -> torch.Tensor:
        """Invariants of ``x`` from ``x_hat = rfftn(x, dim=(-3, -2, -1))``, ``(B, M, N, O // 2 + 1)`` complex →
        ``(B, K, L + 1, P)``."""
        M, N, O = self.shape
        if x_hat.dim() != 4 or tuple(x_hat.shape[1:]) != (M, N, O // 2 + 1):
            raise ValueError(f"x_hat must be (B, {M}, {N}, {O // 2 + 1}), got {tuple(x_hat.shape)}")
        first, second = [], []
        for j1 in range(self.J + 1):
            s1 = self.factors[j1]
            u1 = self._modulus(self._crop(x_hat, 1, s1)[:, None], j1)  # (B, L+1, M_j1, N_j1, O_j1)
            first.append(self._integrals(u1, s1))
            if self.max_order == 2 and j1 < self.J:
                u1_hat = torch.fft.rfftn(u1, dim=(-3, -2, -1)) * s1**3
                for j2 in range(j1 + 1, self.J + 1):
                    s2 = self.factors[j2]
                    hat = self._crop(u1_hat, s1, s2)[:, self.degree]  # one spectrum per filter row
                    second.append(self._integrals(self._modulus(hat, j2), s2))
        return torch.stack(first + second, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, M, N, O)`` real → ``(B, K, L + 1, P)`` invariants (see the class docstring)."""
        if x.dim() != 4 or tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"x must be (B, {', '.join(map(str, self.shape))}), got {tuple(x.shape)}")
        return self.scattering_fourier(torch.fft.rfftn(x.to(self.dtype), dim=(-3, -2, -1)))
