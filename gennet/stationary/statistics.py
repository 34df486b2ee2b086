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
from collections import Counter

import torch
from torch import nn

from ..transforms.frame import check_image_shape
from .catalogue import DEFAULT_SHIFTS, FAMILIES, PIXEL, Catalogue, Channel, Covariance, Mean, RectifiedMean, Statistic, harmonics
from .covariances import FourierCovariances

__all__ = ["PhaseHarmonicCovariance2D", "Statistic", "FAMILIES", "DEFAULT_SHIFTS", "PIXEL", "harmonics"]


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
        self.catalogue = Catalogue(self.J, self.L, self.A, self.C, self.delta_j, self.delta_theta, shifts, self.pixels)
        self._records = self.catalogue.records()
        self._table = [Statistic.of(record) for record in self._records]
        self.covariances = FourierCovariances((self.H, self.W), self.catalogue, self.oversampling)
        #: band ``j`` (``PIXEL`` = −1 the pixels, ``J`` the low-pass) → subsampling step of its grid, in pixels
        self.step = dict(sorted(self.covariances.step.items()))
        #: band ``j`` → ``(h, w)`` of its grid
        self.grid = {j: (self.H // s, self.W // s) for j, s in self.step.items()}

    @property
    def M(self) -> int:
        """The number of statistics."""
        return len(self._table)

    def table(self) -> list[Statistic]:
        """The ``M`` statistics, in the order of the output vector (see :class:`Statistic`)."""
        return list(self._table)

    def records(self) -> list[Mean | RectifiedMean | Covariance]:
        """The ``M`` statistics as typed records (:mod:`gennet.stationary.catalogue`), in output order."""
        return list(self._records)

    def describe(self) -> dict[str, int]:
        """``{family: count}`` in output order (families with no statistic are omitted); the counts sum to ``M``."""
        return dict(Counter(st.family for st in self._table))  # first-seen order: the output order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Φ(x) for images ``x: (B, C, H, W)`` → ``(B, M)`` in the order of :meth:`table` (not normalized)."""
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.C, self.H, self.W):
            raise ValueError(f"expected images of shape (B, {self.C}, {self.H}, {self.W}), got {tuple(x.shape)}")
        with torch.autocast(device_type=x.device.type, enabled=False):
            return self.covariances(x.to(torch.float64 if x.dtype == torch.float64 else torch.float32))

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
        variance: dict[Channel, float] = {}
        for value, r in zip(raw.tolist(), self._records):
            is_variance = isinstance(r, Covariance) and r.first == r.second and r.shift == (0, 0) and not r.imaginary
            if is_variance and r.family in ("pixel", "lowpass", "same_scale"):
                variance[r.first] = max(value, 0.0)
        floor = 1e-12 * max(max(variance.values(), default=0.0), float(std_x.max()) ** 2, 1e-30)
        sigma = {key: math.sqrt(max(value, floor)) for key, value in variance.items()}
        scale = []
        for r in self._records:
            if isinstance(r, Mean):
                scale.append(max(float(std_x[r.c]), math.sqrt(floor)))
            elif isinstance(r, RectifiedMean):
                scale.append(sigma[r.modulus])
            else:
                scale.append(sigma[r.first] * sigma[r.second])
        return torch.tensor(scale, dtype=raw.dtype, device=raw.device)

    def __repr__(self) -> str:  # one line: the evaluation module inside is a detail
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return (
            f"shape=({self.H}, {self.W}), J={self.J}, L={self.L}, A={self.A}, delta_j={self.delta_j}, "
            f"delta_theta={self.delta_theta}, shifts={self.shifts}, channels={self.C}, "
            f"oversampling={self.oversampling}, M={self.M}"
        )
