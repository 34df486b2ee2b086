"""Phase-harmonic covariances: the statistics of the maximum-entropy model of a stationary process (DESIGN §10).

For an image ``x`` (one realization of a stationary process), the complex Morlet wavelets of
:func:`~gennet.transforms.filters.morlet_filter_bank` (kymatio's parameters), ``z_{j,θ} = x ⋆ ψ_{j,θ}`` and the
rectified channels of ``U`` (DESIGN §2)

    ρ_{j,θ,a}(u) = ρ( Re(e^{-iα_a} z_{j,θ}(u)) ),   α_a = 2πa/A,   ρ(t) = max(t, 0),

Φ(x) keeps spatial averages (periodic boundaries) of the rectified channels and of their **phase
harmonics** — their discrete Fourier transform along the phase (an exact change of basis of the A
channels, so every covariance below is a linear combination of covariances of rectified channels):

    g_k = Σ_a e^{-2πiak/A} ρ_{j,θ,a} = A γ̂(k) |z| e^{-ikφ(z)} + aliases,   γ(α) = ρ(cos α)  (seed 001).

γ̂ vanishes at odd k ≠ ±1, so for even A: ``g_1 = (A/4) conj(z)`` is *linear* in x (the model uses conj(z) for
k = 1), the odd harmonics k ≥ 3 are zero, and the informative channels are ``g_0`` (a modulus, e.g.
``|Re z| + |Im z|`` for A = 4), conj(z) and the even harmonics ``g_2, g_4, … (k ≤ A/2)`` (e.g.
``|Re z| − |Im z|`` ≈ |z| cos 2φ for A = 4; complex for A = 6). A translation by t turns the phase of ``z_{j,θ}``
by about ξ_{j,θ}·t, so for a stationary process with uniform phases the covariance of harmonics ``(k, j, θ)``
and ``(k', j', θ')`` vanishes unless ``k ξ_{j,θ} ≈ k' ξ_{j',θ'}``: the model keeps those *resonant* pairs, plus
the couplings that edges create (their phases are not uniform): every pair of harmonics of one channel,
and fine moduli with coarse phases. The other pairs are mostly estimation noise of a single image, and
imposing them costs diversity and time. Source: S. Mallat, lecture seed 001 ("Rectifiers act on phase", "Models of stationary
processes"); S. Zhang & S. Mallat, "Maximum entropy models from phase harmonic covariances", ACHA 2021
(harmonic pairs k' = 2^{j'−j} k); A. Brochard, S. Zhang & S. Mallat, "Generalized rectifier wavelet
covariance models for texture synthesis", ICLR 2022 (the rectified channels; 28,416 statistics at 256²).

**What is kept** (colour channel ``c``; covariances Cov(f, g)(τ) = ⟨(f(u + τ) − f̄) conj(g(u) − ḡ)⟩_u, split into
real and imaginary parts when complex; :meth:`PhaseHarmonicCovariance2D.describe` counts each family,
:meth:`PhaseHarmonicCovariance2D.table` names every statistic). Besides the wavelet bands ``j = 0..J−1``
there are two real bands: the low-pass ``j = J`` with ℓ = x ⋆ φ_J (k = 1) and its modulus |ℓ − ℓ̄| (k = 0),
and (``pixels=True``) the pixels ``j = −1`` with x (k = 1) and |x − x̄| (k = 0).

1. ``mean``: ⟨x_c⟩.
2. ``pixel``: Cov between x_c, |x_c − x̄_c| (all colours, τ = 0): with ``rectified_mean`` below, the pixel moments
   E|x − x̄| and E[(x − x̄)|x − x̄|] (a kurtosis- and a skewness-like moment; the histogram is not imposed).
3. ``lowpass``: Cov between ℓ_c, |ℓ_c − ℓ̄_c| (all colours) at τ = 0, and of each with itself at τ = 2^(J−1)·s,
   s ∈ ``shifts``.
4. ``rectified_mean``: ⟨ρ_{c,j,θ,a}⟩ for every ``j, θ, a``; ⟨|ℓ_c − ℓ̄_c|⟩ and ⟨|x_c − x̄_c|⟩.
5. ``same_scale`` (τ = 0, one scale j, any colours): for one channel ``(c, θ)``, every pair of its harmonics
   (their phase-amplitude couplings); between channels, Cov(g_0, g_0') for every pair of orientations and
   Cov(g_k, g_k') for ``k ≥ 1`` (z and the even harmonics) between orientations at most ``delta_theta``
   apart (circularly).
6. ``cross_scale`` (τ = 0, same colour): between scales ``j < j' ≤ j + delta_j``, Cov(g_0 at j, g_0 at j') for every
   pair of orientations (the moduli's cross-scale correlations), Cov(g_k at j, g_k' at j') with
   ``k' = 2^(j'−j) k ≤ A/2`` (phase coherence: conj z at j with the doubled phase g_2 at j + 1) and Cov(g_0 at j,
   g_1 at j') (fine moduli with coarse phases) for orientations at most ``delta_theta`` apart; and between
   every band's moduli g_0 and the low-pass ℓ and |ℓ − ℓ̄|.
7. ``shifted``: Cov(g_k, g_k)(τ) of each channel ``(c, j, θ)`` and harmonic ``k ∈ {0, 1, even ≤ A/2}`` at
   τ = 2^j·s, s ∈ ``shifts`` (one half-plane: Cov(−τ) is the conjugate).

**Where they are computed.** Band ``j`` lives on the grid subsampled by ``2^max(j − oversampling, 0)`` (the
default ``oversampling=2`` keeps 4× the critical rate of ``U``, so that the harmonics g_2, g_4 alias little:
a one-pixel shift moves the normalized statistics by ~1% of their spread between two crops of one
texture on average, 0.1 at most), the
low-pass on the grid of band ``J − 1``, the pixels on the full grid. Every covariance is computed in
Fourier from the ``rfft2`` of the (real components of the) channels: between channels of one grid, the
exact spatial covariance on that grid, Σ_ω f̂(ω) conj(ĝ(ω)) e^{iω·τ} (``norm="forward"``, ω ≠ 0); between a
finer and a coarser grid, the same sum over the frequencies the coarser grid represents (its bins but
the Nyquist row and column): the finer channel is projected onto them. Only the shifts kept are
evaluated (no correlation maps). The spectrum of z comes free from the filtering, so each ``(j, θ)``
costs one inverse FFT (z) and one ``rfft2`` per real non-linear harmonic component (3 for A = 6). The
statistics are exactly invariant to circular shifts of x by multiples of the coarsest grid step and
nearly invariant to the others; with ``oversampling ≥ J − 1`` they are exactly translation invariant.

**Normalization by the target's scale** (:meth:`PhaseHarmonicCovariance2D.scale`): each statistic is divided
by the target's own standard deviations, so that the target's statistics are O(1) and the loss does not
depend on its contrast: ``mean`` by the std of ``x_c``; ``rectified_mean`` by the std of the channel's k = 0
harmonic (g_0, |ℓ − ℓ̄| or |x − x̄|); a covariance of channels ``(c, j, θ, k)`` and ``(c', j', θ', k')`` by
σ_{c,j,θ,k} σ_{c',j',θ',k'}, σ² the target's variance of that harmonic (correlation coefficients).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..transforms.filters import morlet_filter_bank
from ..transforms.fourier import alias_blocks, fft2_real, subsampled_spectrum
from ..transforms.rectified import check_image_shape

__all__ = ["PhaseHarmonicCovariance2D", "Statistic", "FAMILIES", "DEFAULT_SHIFTS", "harmonics"]

#: The families of statistics, in the order of the output vector.
FAMILIES = ("mean", "pixel", "lowpass", "rectified_mean", "same_scale", "cross_scale", "shifted")

#: The band index of the pixels themselves (``x − mean`` and its modulus), before the wavelet bands 0..J−1 and the low-pass J.
PIXEL = -1

#: One half-plane of the 8 neighbours at distance 1 and 2, in units of 2^j pixels (row, column).
DEFAULT_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1), (0, 2), (2, 0), (2, 2), (2, -2))


class Statistic(NamedTuple):
    """One entry of Φ(x): its ``family``, the two channels it relates, the shift and the part.

    A channel is ``(c, j, theta, k)``: colour, scale ``j`` (``−1``: the pixels, ``J``: the low-pass), orientation
    index (``−1`` for the pixels and the low-pass) and harmonic ``k`` (wavelet bands: g_k, with conj(z) for
    k = 1; pixels and low-pass: k = 0 the modulus |x − x̄| or |ℓ − ℓ̄|, k = 1 the map x or ℓ itself). In
    ``rectified_mean``, ``k`` is the phase index ``a`` of ρ_{j,θ,a}; in ``mean``, ``j = theta = k = −1`` stand for x.
    ``shift`` is τ = (row, column) in pixels of the full image; ``part`` is ``"re"`` or ``"im"`` (of a complex
    covariance).
    """

    family: str
    c: int
    j: int
    theta: int
    k: int
    c2: int
    j2: int
    theta2: int
    k2: int
    shift: tuple[int, int]
    part: str


def _name(band: int) -> str:
    """The band's name in buffer names."""
    return "pixel" if band == PIXEL else str(band)


def harmonics(A: int) -> list[int]:
    """The phase harmonics ``k`` that are not identically zero for an even ``A``: 0, 1 and the even ``k ≤ A/2``."""
    return [0, 1] + list(range(2, A // 2 + 1, 2))


def _crop(spectrum: torch.Tensor, h_band: int, w_band: int) -> torch.Tensor:
    """The bins of an ``rfft2`` spectrum ``(..., h, w/2+1)`` at the frequencies of a coarser ``h_band × w_band``
    grid, without that grid's Nyquist row and column: ``(..., h_band − 1, w_band/2)``, rows in the order
    0, 1, …, h_band/2 − 1, −(h_band/2 − 1), …, −1 on every grid."""
    h = spectrum.shape[-2]
    top = spectrum[..., : h_band // 2, : w_band // 2]
    bottom = spectrum[..., h - h_band // 2 + 1 :, : w_band // 2]
    return torch.cat([top, bottom], dim=-2)


def _half_plane_weights(h: int, w: int) -> torch.Tensor:
    """Weights of the ``rfft2`` bins of an ``h × w`` grid in a sum over the whole plane of a Hermitian quantity, the
    mean (DC) excluded: a column that is its own mirror (0, and w/2 for even w) counts once, the others twice."""
    weights = torch.full((h, w // 2 + 1), 2.0, dtype=torch.float64)
    weights[:, 0] = 1.0
    if w % 2 == 0:
        weights[:, -1] = 1.0
    weights[0, 0] = 0.0
    return weights


def _shift_phases(h: int, w: int, step: int, taus: list[tuple[int, int]]) -> torch.Tensor:
    """``cos(ω·τ)`` and ``sin(ω·τ)`` on the ``rfft2`` bins of an ``h × w`` grid of step ``step`` pixels, τ in pixels:
    ``(2, S, h·(w/2+1))`` float64."""
    fr = torch.fft.fftfreq(h, dtype=torch.float64) * 2 * math.pi / step
    fc = torch.fft.rfftfreq(w, dtype=torch.float64) * 2 * math.pi / step
    tau = torch.tensor(taus, dtype=torch.float64).reshape(-1, 2)
    angle = tau[:, 0, None, None] * fr[None, :, None] + tau[:, 1, None, None] * fc[None, None, :]
    return torch.stack([torch.cos(angle), torch.sin(angle)]).flatten(2)


class PhaseHarmonicCovariance2D(nn.Module):
    """Φ(x): rectified-wavelet means, phase-harmonic covariances, low-pass and pixel statistics.

    The statistics, where they are computed and how they are normalized are listed in the module's
    docstring; :meth:`table` names each of the ``M`` entries of the output, :meth:`describe` counts them.

    Args:
        shape: ``(H, W)`` image size in pixels (non-square allowed); ``2**J`` must divide both and be ≤ min.
        J: number of scales (``j = 0..J−1``; the low-pass band is ``j = J``).
        L: number of orientations of the Morlet wavelets.
        A: number of phases α_a = 2πa/A of the rectifier; even and ≥ 4.
        delta_j: largest scale difference ``j' − j`` of the ``cross_scale`` covariances between bands (0: none).
        delta_theta: largest circular orientation distance (in steps of π/L) of the covariances of harmonics
            ``k ≥ 1`` between two orientations (the moduli ``k = 0`` are correlated across every pair).
        shifts: the shifts τ of ``shifted`` (in units of 2^j pixels) and of ``lowpass`` (units of 2^(J−1)), as
            ``(row, column)`` integer pairs; keep one of τ and −τ.
        channels: ``C``, colour channels of the images (covariances across colours at equal scales).
        oversampling: band ``j`` is computed on the grid subsampled by ``2^max(j − oversampling, 0)``, the
            low-pass on that of band ``J − 1``.
        pixels: keep the pixel band (the covariances of x and |x − x̄|, and E|x − x̄|): two pixel moments per
            colour, a kurtosis- and a skewness-like one.

    Shapes: ``forward(x)``: ``x (B, C, H, W)`` float32/float64 → ``(B, M)`` in ``x``'s dtype (half precision is
    computed in float32). Differentiable; filters are float64 non-persistent buffers (they follow ``.to``).

    Raises:
        ValueError: for sizes ``J`` does not fit, odd ``A`` or ``A < 4``, ``L < 1``, negative ``delta_j``,
            ``delta_theta`` or ``oversampling``, ``channels < 1``, a zero or repeated shift; in ``forward`` for
            images of another shape or channel count.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        J: int = 5,
        L: int = 4,
        A: int = 8,
        delta_j: int = 2,
        delta_theta: int = 1,
        shifts: tuple[tuple[int, int], ...] = DEFAULT_SHIFTS,
        channels: int = 1,
        oversampling: int = 2,
        pixels: bool = True,
    ) -> None:
        super().__init__()
        self.H, self.W = check_image_shape(tuple(shape), J)
        if L < 1 or A < 4 or A % 2 or channels < 1 or delta_j < 0 or delta_theta < 0 or oversampling < 0:
            raise ValueError(
                f"need L ≥ 1, even A ≥ 4, channels ≥ 1, delta_j ≥ 0, delta_theta ≥ 0, oversampling ≥ 0; got L={L}, "
                f"A={A}, channels={channels}, delta_j={delta_j}, delta_theta={delta_theta}, oversampling={oversampling}"
            )
        shifts = tuple((int(s[0]), int(s[1])) for s in shifts)
        if any(s == (0, 0) for s in shifts) or len(set(shifts)) != len(shifts):
            raise ValueError(f"shifts must be distinct and non-zero (the zero shift is always kept), got {shifts}")
        self.J, self.L, self.A, self.C = int(J), int(L), int(A), int(channels)
        self.delta_j, self.delta_theta, self.oversampling = int(delta_j), int(delta_theta), int(oversampling)
        self.shifts = shifts
        self.pixels = bool(pixels)
        self.harmonics = harmonics(self.A)
        J = self.J
        # Real components of one (c, θ) of a band: (k, part); g_0 and g_{A/2} are real. The low-pass band J has
        # (k = 0: |ℓ − mean|, k = 1: ℓ = x ⋆ φ_J).
        wavelet = [(k, part) for k in self.harmonics for part in ("re", "im") if part == "re" or k not in (0, self.A // 2)]
        self.components = {**{j: wavelet for j in range(J)}, J: [(0, "re"), (1, "re")]}
        self.orientations = {**{j: self.L for j in range(J)}, J: 1}
        if self.pixels:  # the band PIXEL = −1: (k = 0: |x − mean|, k = 1: x) on the full grid
            self.components[PIXEL], self.orientations[PIXEL] = [(0, "re"), (1, "re")], 1
        self.step = {**{j: 2 ** max(j - self.oversampling, 0) for j in range(J)}, J: 2 ** max(J - 1 - self.oversampling, 0), PIXEL: 1}
        self.grid = {b: (self.H // s, self.W // s) for b, s in self.step.items()}
        # the pairs of wavelet bands whose cross-scale covariances are kept: j < j2 ≤ j + Δj
        self._cross_pairs = [(j, j2) for j in range(J) for j2 in range(j + 1, min(J, j + self.delta_j + 1))]

        bank = morlet_filter_bank(self.H, self.W, J, self.L)
        for j in range(J):
            self.register_buffer(f"psi_{j}", alias_blocks(bank.psi[j], self.step[j]), persistent=False)
        self.register_buffer("phi", alias_blocks(bank.phi[None], self.step[J]), persistent=False)
        alpha = 2 * math.pi * torch.arange(self.A, dtype=torch.float64) / self.A
        self.register_buffer("cos_alpha", torch.cos(alpha)[:, None, None], persistent=False)
        self.register_buffer("sin_alpha", torch.sin(alpha)[:, None, None], persistent=False)
        # the real components of a band as combinations of its A rectified channels, (Q, A): g_k = Σ_a e^{-ikα_a} ρ_a,
        # and conj(z) = (4/A) Σ_a e^{-iα_a} ρ_a exactly for even A (ρ(t) − ρ(−t) = t; |cos| has no odd harmonic)
        rows = []
        for k, part in wavelet:
            factor = 4.0 / self.A if k == 1 else 1.0
            rows.append(factor * (torch.cos(k * alpha) if part == "re" else -torch.sin(k * alpha)))
        self.register_buffer("harmonic_basis", torch.stack(rows), persistent=False)
        # √(half-plane weights) of each band's rfft2 bins, so that plain products of weighted spectra sum over the plane
        for b in self.components:
            self.register_buffer(f"root_weights_{_name(b)}", _half_plane_weights(*self.grid[b]).sqrt(), persistent=False)
        # shifted covariances: cos(ω·τ) and sin(ω·τ) on the rfft2 bins
        for b in range(J + 1):
            h, w = self.grid[b]
            unit = 2**b if b < J else 2 ** (J - 1)
            self.register_buffer(f"phases_{b}", _shift_phases(h, w, self.step[b], [(unit * r, unit * c) for r, c in shifts]), persistent=False)
        # the complex harmonics' (re, im) components sit at 1, 2 | 3, 4 | …; the real ones after them
        self._complex = sum(1 for k in self.harmonics if not self._is_real(0, k))
        # per band, the component ranges of its harmonics, in order
        self._ranges = {b: [self._harmonic_range(b, k) for k in dict.fromkeys(k for k, _ in comps)] for b, comps in self.components.items()}
        self._cast_cache: dict[tuple[str, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}

        self._table = self._build_table()
        index, coefficient = self._build_gather()
        self.register_buffer("gather_index", index, persistent=False)
        self.register_buffer("gather_coefficient", coefficient, persistent=False)

    # -- layout -----------------------------------------------------------------------------------
    def _theta_close(self, t1: int, t2: int) -> bool:
        d = abs(t1 - t2) % self.L
        return min(d, self.L - d) <= self.delta_theta

    def _is_real(self, j: int, k: int) -> bool:
        return j == self.J or k in (0, self.A // 2)

    def _covariance(self, family: str, first: tuple, second: tuple, shift: tuple[int, int]) -> list[Statistic]:
        """The real (and, for a complex covariance that is not a variance, imaginary) part of one covariance."""
        parts = ["re"]
        complex_pair = not (self._is_real(first[1], first[3]) and self._is_real(second[1], second[3]))
        if complex_pair and (first != second or shift != (0, 0)):
            parts.append("im")
        return [Statistic(family, *first, *second, shift, part) for part in parts]

    def _build_table(self) -> list[Statistic]:
        C, J, L, A = self.C, self.J, self.L, self.A
        zero = (0, 0)
        table = [Statistic("mean", c, -1, -1, -1, c, -1, -1, -1, zero, "re") for c in range(C)]
        if self.pixels:
            pixels = [(c, PIXEL, -1, k) for c in range(C) for k in (0, 1)]
            for i, first in enumerate(pixels):
                for second in pixels[i:]:
                    table += self._covariance("pixel", first, second, zero)
        lowpass = [(c, J, -1, k) for c in range(C) for k in (0, 1)]
        for i, first in enumerate(lowpass):
            for second in lowpass[i:]:
                table += self._covariance("lowpass", first, second, zero)
        unit = 2 ** (J - 1)
        for first in lowpass:
            for s in self.shifts:
                table += self._covariance("lowpass", first, first, (unit * s[0], unit * s[1]))
        table += [
            Statistic("rectified_mean", c, j, t, a, c, j, t, a, zero, "re")
            for j in range(J) for c in range(C) for t in range(L) for a in range(A)
        ]
        table += [Statistic("rectified_mean", c, J, -1, 0, c, J, -1, 0, zero, "re") for c in range(C)]
        if self.pixels:
            table += [Statistic("rectified_mean", c, PIXEL, -1, 0, c, PIXEL, -1, 0, zero, "re") for c in range(C)]
        for j in range(J):
            channels = [(c, j, t, k) for k in self.harmonics for c in range(C) for t in range(L)]
            for i, first in enumerate(channels):
                for second in channels[i:]:
                    if first[:3] == second[:3] or (  # one channel: every pair of harmonics
                        first[3] == second[3] and (first[3] == 0 or self._theta_close(first[2], second[2]))
                    ):
                        table += self._covariance("same_scale", first, second, zero)
        for j, j2 in self._cross_pairs:
            for c in range(C):
                for k, k2 in self._resonant(j, j2):
                    for t in range(L):
                        for t2 in range(L):
                            if k == k2 == 0 or self._theta_close(t, t2):
                                table += self._covariance("cross_scale", (c, j, t, k), (c, j2, t2, k2), zero)
        for j in range(J):  # the moduli of every band with the low-pass and its modulus
            for c in range(C):
                for t in range(L):
                    for k2 in (0, 1):
                        table += self._covariance("cross_scale", (c, j, t, 0), (c, J, -1, k2), zero)
        for j in range(J):
            for c in range(C):
                for t in range(L):
                    for k in self.harmonics:
                        for s in self.shifts:
                            table += self._covariance("shifted", (c, j, t, k), (c, j, t, k), (2**j * s[0], 2**j * s[1]))
        return table

    def _resonant(self, j: int, j2: int) -> list[tuple[int, int]]:
        """The harmonic pairs ``(k, k2)`` of bands ``j < j2`` whose covariance a stationary process does not average to
        zero: ``k2 = k·2^(j2−j)`` (the phase of ``x ⋆ ψ_j`` raised to the frequency ratio), and modulus with ``x ⋆ ψ_j2``."""
        return [(k, k2) for k in self.harmonics for k2 in self.harmonics if k2 == k * 2 ** (j2 - j) or (k, k2) == (0, 1)]

    def _harmonic_range(self, band: int, k: int) -> tuple[int, int]:
        """The components ``[q0, q1)`` of harmonic ``k`` in a band (they are contiguous: re, then im)."""
        positions = [q for q, (kq, _) in enumerate(self.components[band]) if kq == k]
        return positions[0], positions[-1] + 1

    def _gram_plan(self) -> list[tuple]:
        """The products of real components ``forward`` computes, as ``("channel", j)`` — every pair of components of
        each channel ``(c, θ)`` of band j, ``(B, C, L, Q, Q)`` — or ``("group", b, (q0, q1), b2, (q0', q1'))`` — every
        (colour, orientation, component) of components ``q0..q1`` of band b with those of band b2, the layout of
        ``spectra[b][:, q0:q1]``. Only the groups the table needs: the harmonics of one band with themselves,
        the resonant harmonic pairs of two bands, the moduli with the low-pass, whole pixel and low-pass bands."""
        J, plan = self.J, []
        for b in ([PIXEL] if self.pixels else []) + [J]:
            plan.append(("group", b, (0, 2), b, (0, 2)))
        for j in range(J):
            plan.append(("channel", j))
            plan += [("group", j, self._harmonic_range(j, k), j, self._harmonic_range(j, k)) for k in self.harmonics]
        for j, j2 in self._cross_pairs:
            for k, k2 in self._resonant(j, j2):
                plan.append(("group", j, self._harmonic_range(j, k), j2, self._harmonic_range(j2, k2)))
        plan += [("group", j, self._harmonic_range(j, 0), J, (0, 2)) for j in range(J)]
        return plan

    def _gram_size(self, item: tuple) -> int:
        if item[0] == "channel":
            return self.C * self.L * len(self.components[item[1]]) ** 2
        _, b, (q0, q1), b2, (r0, r1) = item
        return (q1 - q0) * self.C * self.orientations[b] * (r1 - r0) * self.C * self.orientations[b2]

    def _build_gather(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Each statistic as ``Σ coefficient · blocks[index]`` (two terms) over the concatenation of the blocks
        ``forward`` computes; a complex covariance combines the products of real components:
        E[a conj b] = E[a_r b_r + a_i b_i] + i E[a_i b_r − a_r b_i]."""
        C, J, L, A, S = self.C, self.J, self.L, self.A, len(self.shifts)
        K = len(self.harmonics)
        self._plan = self._gram_plan()
        sizes = [("mean", C), ("rectified_mean", J * C * L * A), ("lowpass_mean", C), ("pixel_mean", C)]
        sizes += [(f"gram_{i}", self._gram_size(item)) for i, item in enumerate(self._plan)]
        sizes += [(f"shifted_{j}", C * L * K * S * 2) for j in range(J)] + [("shifted_lowpass", C * 2 * S)]
        offsets, position = {}, 0
        for name, size in sizes:
            offsets[name] = position
            position += size
        zero_slot = position  # forward appends one zero
        # where each product of two real components (band, q, c, θ) sits (the first group that has it)
        products: dict[tuple, int] = {}
        for i, item in enumerate(self._plan):
            base = offsets[f"gram_{i}"]
            if item[0] == "channel":
                Q = len(self.components[item[1]])
                for c in range(C):
                    for t in range(L):
                        for q in range(Q):
                            for q2 in range(Q):
                                key = (item[1], q, c, t, item[1], q2, c, t)
                                products.setdefault(key, base + ((c * L + t) * Q + q) * Q + q2)
                continue
            _, b, (q0, q1), b2, (r0, r1) = item
            rows = [(q, c, t) for q in range(q0, q1) for c in range(C) for t in range(self.orientations[b])]
            cols = [(q, c, t) for q in range(r0, r1) for c in range(C) for t in range(self.orientations[b2])]
            for r, row in enumerate(rows):
                for n, col in enumerate(cols):
                    products.setdefault((b, *row, b2, *col), base + r * len(cols) + n)

        def product(first: tuple, part1: str, second: tuple, part2: str) -> int:
            """Index of Cov(first_part1, second_part2) of real components, or the zero slot if one does not exist."""
            (c, j, t, k), (c2, j2, t2, k2) = first, second
            if (k, part1) not in self.components[j] or (k2, part2) not in self.components[j2]:
                return zero_slot
            q, q2 = self.components[j].index((k, part1)), self.components[j2].index((k2, part2))
            return products[(j, q, c, max(t, 0), j2, q2, c2, max(t2, 0))]

        index, coefficient = [], []
        for st in self._table:
            first, second = (st.c, st.j, st.theta, st.k), (st.c2, st.j2, st.theta2, st.k2)
            if st.family == "mean":
                terms = [(offsets["mean"] + st.c, 1.0)]
            elif st.family == "rectified_mean" and st.j == J:
                terms = [(offsets["lowpass_mean"] + st.c, 1.0)]
            elif st.family == "rectified_mean" and st.j == PIXEL:
                terms = [(offsets["pixel_mean"] + st.c, 1.0)]
            elif st.family == "rectified_mean":
                terms = [(offsets["rectified_mean"] + ((st.j * C + st.c) * L + st.theta) * A + st.k, 1.0)]
            elif st.shift != (0, 0) and st.j == J:
                s = self.shifts.index((st.shift[0] // 2 ** (J - 1), st.shift[1] // 2 ** (J - 1)))
                terms = [(offsets["shifted_lowpass"] + (st.c * 2 + st.k) * S + s, 1.0)]
            elif st.shift != (0, 0):
                s = self.shifts.index((st.shift[0] // 2**st.j, st.shift[1] // 2**st.j))
                k = self.harmonics.index(st.k)
                position = offsets[f"shifted_{st.j}"] + ((((st.c * L + st.theta) * K + k) * S + s) * 2)
                terms = [(position + (st.part == "im"), 1.0)]
            elif st.part == "re":
                terms = [(product(first, "re", second, "re"), 1.0), (product(first, "im", second, "im"), 1.0)]
            else:
                terms = [(product(first, "im", second, "re"), 1.0), (product(first, "re", second, "im"), -1.0)]
            terms += [(zero_slot, 0.0)] * (2 - len(terms))
            index.append([i for i, _ in terms])
            coefficient.append([w for _, w in terms])
        return torch.tensor(index, dtype=torch.long), torch.tensor(coefficient, dtype=torch.float64)

    @property
    def M(self) -> int:
        """The number of statistics."""
        return len(self._table)

    def table(self) -> list[Statistic]:
        """The ``M`` statistics, in the order of the output vector (see :class:`Statistic`)."""
        return list(self._table)

    def describe(self) -> dict[str, int]:
        """``{family: count}`` in output order (families with no statistic are omitted); the counts sum to ``M``."""
        counts: dict[str, int] = {}
        for st in self._table:
            counts[st.family] = counts.get(st.family, 0) + 1
        return counts

    # -- the statistics ---------------------------------------------------------------------------
    def _cast(self, name: str, dtype: torch.dtype) -> torch.Tensor:
        """Buffer ``name`` in ``dtype``, cached until the buffer changes (``.to(device)``)."""
        buffer = getattr(self, name)
        if buffer.dtype == dtype or not buffer.is_floating_point():
            return buffer
        cached = self._cast_cache.get((name, dtype))
        if cached is None or cached[0] is not buffer:
            cached = (buffer, buffer.to(dtype))
            self._cast_cache[(name, dtype)] = cached
        return cached[1]

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.C, self.H, self.W):
            raise ValueError(f"expected images of shape (B, {self.C}, {self.H}, {self.W}), got {tuple(x.shape)}")

    def _band_spectra(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """DFTs of ``z_{j,θ} = x ⋆ ψ_{j,θ}`` on the grid of band ``j`` (``J`` complex tensors ``(B, C, L, h_j, w_j)``)
        and of ``ℓ = x ⋆ φ_J`` on the low-pass grid (``(B, C, 1, h_J, w_J)``)."""
        spectrum = fft2_real(x)[:, :, None]  # (B, C, 1, H, W)
        bands = [subsampled_spectrum(spectrum, self._cast(f"psi_{j}", x.dtype)) for j in range(self.J)]
        return bands, subsampled_spectrum(spectrum, self._cast("phi", x.dtype))

    def _rectify(self, z: torch.Tensor) -> torch.Tensor:
        cos, sin = self._cast("cos_alpha", z.real.dtype), self._cast("sin_alpha", z.real.dtype)
        return F.relu(cos * z.real.unsqueeze(-3) + sin * z.imag.unsqueeze(-3))

    def _weighted_spectrum(self, maps: torch.Tensor, band: int) -> torch.Tensor:
        """``rfft2(maps, norm="forward")`` of centred real maps times √(half-plane weights): Re Σ f̂ conj ĝ over these
        bins (or over a crop of them, which leaves out the Nyquist column) is the sum over the whole plane."""
        return torch.fft.rfft2(maps, norm="forward") * self._cast(f"root_weights_{_name(band)}", maps.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Φ(x) for images ``x: (B, C, H, W)`` → ``(B, M)`` in the order of :meth:`table` (not normalized)."""
        self._check(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
            x = x.to(dtype)
            B, J = x.shape[0], self.J
            z_hats, l_hat = self._band_spectra(x)
            means = [x.mean(dim=(-2, -1)), None, None, None]
            spectra: dict[int, torch.Tensor] = {}  # per band: rfft2 of its centred real components, (B, Q_b, C, L_b, h, w/2+1)
            rectified_means = []
            basis = self._cast("harmonic_basis", dtype)
            for j, z_hat in enumerate(z_hats):
                rho = self._rectify(torch.fft.ifft2(z_hat))  # (B, C, L, A, h, w)
                rectified_means.append(rho.mean(dim=(-2, -1)).flatten(1))
                components = torch.einsum("qa,bclahw->bqclhw", basis, rho)  # component-major
                spectra[j] = self._weighted_spectrum(components - components.mean(dim=(-2, -1), keepdim=True), j)
            means[1] = torch.cat(rectified_means, dim=1)
            lowpass = torch.fft.ifft2(l_hat).real  # (B, C, 1, h, w)
            lowpass = lowpass - lowpass.mean(dim=(-2, -1), keepdim=True)
            modulus = lowpass.abs()
            means[2] = modulus.mean(dim=(-2, -1)).flatten(1)
            spectra[J] = self._weighted_spectrum(torch.stack([modulus - means[2][:, :, None, None, None], lowpass], dim=1), J)
            centred = (x - means[0][:, :, None, None])[:, :, None]  # (B, C, 1, H, W)
            modulus = centred.abs()
            means[3] = modulus.mean(dim=(-2, -1)).flatten(1)
            if self.pixels:
                spectra[PIXEL] = self._weighted_spectrum(torch.stack([modulus - means[3][:, :, None, None, None], centred], dim=1), PIXEL)

            blocks = list(means)
            # each harmonic's components as a view (split: its backward is one concatenation, not a zero fill per slice)
            pieces: dict[tuple, torch.Tensor] = {}
            for b, spec in spectra.items():
                sizes = [q1 - q0 for q0, q1 in self._ranges[b]]
                pieces.update({(b, r): piece for r, piece in zip(self._ranges[b], torch.split(spec, sizes, dim=1))})
                pieces[(b, (0, spec.shape[1]))] = spec
            crops: dict[tuple, torch.Tensor] = {}

            def operand(b: int, span: tuple[int, int], band: tuple[int, int] | None) -> torch.Tensor:
                """Components ``span`` of band b as ``(B, rows, h, w')``: every bin, or (``band``) the bins of that grid's band."""
                key = (b, span, band)
                if key not in crops:
                    piece = pieces[(b, span)]
                    piece = piece.reshape(B, -1, *piece.shape[-2:])
                    crops[key] = piece if band is None else _crop(piece, *band)
                return crops[key]

            for item in self._plan:  # covariances of real components: Σ_ω f̂ conj ĝ over the plane (or the coarser band)
                if item[0] == "channel":
                    spec = torch.view_as_real(spectra[item[1]]).flatten(-3).permute(0, 2, 3, 1, 4)  # (B, C, L, Q, 2n)
                    blocks.append((spec @ spec.transpose(-1, -2)).flatten(1))
                    continue
                _, b, span, b2, span2 = item
                band = None if self.step[b] == self.step[b2] else self.grid[b2]  # different grids: the coarser one's band
                first, second = operand(b, span, band), operand(b2, span2, band)
                gram = torch.view_as_real(first).flatten(2) @ torch.view_as_real(second).flatten(2).transpose(1, 2)
                blocks.append(gram.flatten(1))
            for b in range(J + 1):  # shifted covariances of each harmonic with itself, from the power spectra
                spec = spectra[b]
                cos, sin = self._cast(f"phases_{b}", dtype)  # (S, n)
                power = ((spec.real.square() + spec.imag.square()).flatten(-2) @ cos.T).permute(0, 2, 3, 1, 4)  # (B, C, L_b, Q_b, S)
                if b == J:
                    blocks.append(power.flatten(1))
                    continue
                n = self._complex  # complex harmonics a + ib: re = Σ (|â|² + |b̂|²) cos ωτ, im = −2 Σ Im(b̂ conj â) sin ωτ
                pairs = [pieces[(b, span)] for span in self._ranges[b][1 : 1 + n]]  # (B, 2, C, L, h, w') each: re, im
                cross = [(pair[:, 1].imag * pair[:, 0].real - pair[:, 1].real * pair[:, 0].imag).flatten(-2) @ sin.T for pair in pairs]
                cross = torch.stack(cross, dim=3)  # (B, C, L, n, S)
                real_parts = torch.cat([power[:, :, :, :1], power[:, :, :, 1 : 1 + 2 * n : 2] + power[:, :, :, 2 : 2 + 2 * n : 2], power[:, :, :, 1 + 2 * n :]], dim=3)
                imaginary = torch.cat([torch.zeros_like(power[:, :, :, :1]), -2 * cross, torch.zeros_like(power[:, :, :, 1 + 2 * n :])], dim=3)
                blocks.append(torch.stack([real_parts, imaginary], dim=-1).flatten(1))  # (B, C·L·K·S·2)
            blocks.append(x.new_zeros(B, 1))
            flat = torch.cat(blocks, dim=1)
            return (flat[:, self.gather_index] * self._cast("gather_coefficient", dtype)).sum(-1)

    def scale(self, target: torch.Tensor, raw: torch.Tensor | None = None) -> torch.Tensor:
        """The normalization of each statistic by the target's own scale, ``(M,)`` (see the module docstring).

        Args:
            target: ``(1, C, H, W)`` or ``(C, H, W)``, the image the model is conditioned on.
            raw: ``Φ(target)``, ``(M,)``, when the caller has it already (else computed here).

        Returns:
            ``(M,)`` positive values in the target's dtype: divide ``Φ(x) − Φ(target)`` by it.
        """
        if target.dim() == 3:
            target = target[None]
        with torch.no_grad():
            raw = self.forward(target[:1])[0] if raw is None else raw
            std_x = target[0].reshape(self.C, -1).std(dim=1)
        variance: dict[tuple[int, int, int, int], float] = {}
        for value, st in zip(raw.tolist(), self._table):
            if st.family in ("pixel", "lowpass", "same_scale") and st.shift == (0, 0) and st[1:5] == st[5:9]:
                variance[st[1:5]] = max(value, 0.0)
        floor = 1e-12 * max(max(variance.values(), default=0.0), float(std_x.max()) ** 2, 1e-30)
        sigma = {key: math.sqrt(max(value, floor)) for key, value in variance.items()}
        scale = []
        for st in self._table:
            if st.family == "mean":
                scale.append(max(float(std_x[st.c]), math.sqrt(floor)))
            elif st.family == "rectified_mean":
                scale.append(sigma[(st.c, st.j, st.theta, 0)])
            else:
                scale.append(sigma[st[1:5]] * sigma[st[5:9]])
        return torch.tensor(scale, dtype=raw.dtype, device=raw.device)

    def extra_repr(self) -> str:
        return (
            f"shape=({self.H}, {self.W}), J={self.J}, L={self.L}, A={self.A}, delta_j={self.delta_j}, "
            f"delta_theta={self.delta_theta}, shifts={self.shifts}, channels={self.C}, "
            f"oversampling={self.oversampling}, M={self.M}"
        )
