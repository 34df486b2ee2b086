"""The catalogue of phase-harmonic statistics: which entries Φ(x) has, in which order (DESIGN §10).

Typed records, no arithmetic on images: a :class:`Catalogue` holds the model's settings (``J, L, A``, colours,
``delta_j``, ``delta_theta``, shifts, pixels) and lists its statistics as :class:`Mean`, :class:`RectifiedMean` and
:class:`Covariance` records between :class:`Channel` maps, in the order of the output vector. How they are
computed is :mod:`gennet.stationary.covariances`; what they are and why is the docstring of
:mod:`gennet.stationary.statistics`. :class:`Statistic` is the flat record of
:meth:`~gennet.stationary.PhaseHarmonicCovariance2D.table` (``−1`` where a field does not apply).

Source: S. Zhang & S. Mallat, "Maximum entropy models from phase harmonic covariances", ACHA 2021 (harmonic pairs
k' = 2^{j'−j} k); A. Brochard, S. Zhang & S. Mallat, ICLR 2022 (rectified channels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Union

__all__ = [
    "DEFAULT_SHIFTS",
    "FAMILIES",
    "PIXEL",
    "Catalogue",
    "Channel",
    "Covariance",
    "Mean",
    "RectifiedMean",
    "Statistic",
    "harmonics",
]

#: The families of statistics, in the order of the output vector.
FAMILIES = ("mean", "pixel", "lowpass", "rectified_mean", "same_scale", "cross_scale", "shifted")

#: The band index ``j`` of the pixels themselves (``x − mean`` and its modulus), before the wavelet bands 0..J−1 and
#: the low-pass ``J``.
PIXEL = -1

#: One half-plane of the 8 neighbours at distance 1 and 2, in units of 2^j pixels (row, column).
DEFAULT_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1), (0, 2), (2, 0), (2, 2), (2, -2))

ZERO = (0, 0)


def harmonics(A: int) -> list[int]:
    """The phase harmonics ``k`` that are not identically zero for an even ``A``: 0, 1 and the even ``k ≤ A/2``."""
    return [0, 1] + list(range(2, A // 2 + 1, 2))


class Channel(NamedTuple):
    """One map of the model: colour ``c``, band ``j`` (0..J−1 a wavelet band, ``J`` the low-pass, :data:`PIXEL` the
    pixels), orientation index ``theta`` (``None`` for the low-pass and the pixels: one map) and harmonic ``k``
    (wavelet bands: g_k, with conj(z) for k = 1; low-pass and pixels: k = 0 the modulus |ℓ − ℓ̄| or |x − x̄|, k = 1
    the map ℓ or x itself)."""

    c: int
    j: int
    theta: int | None
    k: int


class Mean(NamedTuple):
    """``⟨x_c⟩``, family ``mean``."""

    c: int


class RectifiedMean(NamedTuple):
    """``⟨ρ_{c,j,θ,a}⟩`` of a wavelet band (``a``: the phase index), or ``⟨|ℓ_c − ℓ̄_c|⟩`` / ``⟨|x_c − x̄_c|⟩`` of the
    low-pass / pixels (``theta`` and ``a`` are ``None``); family ``rectified_mean``."""

    c: int
    j: int
    theta: int | None
    a: int | None

    @property
    def modulus(self) -> Channel:
        """The channel whose standard deviation normalizes this mean: the k = 0 harmonic of ``(c, j, θ)``."""
        return Channel(self.c, self.j, self.theta, 0)


class Covariance(NamedTuple):
    """The real (``imaginary=False``) or imaginary part of ``Cov(first, second)(τ)``, ``τ = shift`` in pixels of the
    full image; ``family`` is one of ``pixel``, ``lowpass``, ``same_scale``, ``cross_scale``, ``shifted``."""

    family: str
    first: Channel
    second: Channel
    shift: tuple[int, int]
    imaginary: bool


Record = Union[Mean, RectifiedMean, Covariance]


class Statistic(NamedTuple):
    """One entry of Φ(x), flat: its ``family``, the two channels it relates, the shift and the part.

    A channel is ``(c, j, theta, k)``: colour, scale ``j`` (``−1``: the pixels, ``J``: the low-pass), orientation
    index (``−1`` for the pixels and the low-pass) and harmonic ``k`` (wavelet bands: g_k, with conj(z) for
    k = 1; pixels and low-pass: k = 0 the modulus |x − x̄| or |ℓ − ℓ̄|, k = 1 the map x or ℓ itself). In
    ``rectified_mean``, ``k`` is the phase index ``a`` of ρ_{j,θ,a}; in ``mean``, ``j = theta = k = −1`` stand for x.
    ``shift`` is τ = (row, column) in pixels of the full image; ``part`` is ``"re"`` or ``"im"`` (of a complex
    covariance). The typed records (:class:`Mean`, :class:`RectifiedMean`, :class:`Covariance`) carry the same
    information without placeholders.
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

    @classmethod
    def of(cls, record: Record) -> Statistic:
        """The flat form of a typed record."""
        if isinstance(record, Mean):
            return cls("mean", record.c, -1, -1, -1, record.c, -1, -1, -1, ZERO, "re")
        if isinstance(record, RectifiedMean):
            flat = (record.c, record.j, _or_minus_one(record.theta), 0 if record.a is None else record.a)
            return cls("rectified_mean", *flat, *flat, ZERO, "re")
        first, second = (tuple(_or_minus_one(v) for v in ch) for ch in (record.first, record.second))
        return cls(record.family, *first, *second, record.shift, "im" if record.imaginary else "re")


def _or_minus_one(value: int | None) -> int:
    return -1 if value is None else value


@dataclass(frozen=True)
class Catalogue:
    """The settings that decide which statistics exist (see :class:`~gennet.stationary.PhaseHarmonicCovariance2D`
    for their meaning and checks); :meth:`records` lists them in output order."""

    J: int
    L: int
    A: int
    C: int
    delta_j: int
    delta_theta: int
    shifts: tuple[tuple[int, int], ...]
    pixels: bool

    @property
    def harmonics(self) -> list[int]:
        return harmonics(self.A)

    @property
    def bands(self) -> list[int]:
        """Every band ``j``: the pixels (if kept), the wavelet bands, the low-pass."""
        return ([PIXEL] if self.pixels else []) + list(range(self.J + 1))

    def orientations(self, j: int) -> int:
        """Number of maps per colour and harmonic of band ``j`` (``L`` for a wavelet band, else 1)."""
        return self.L if 0 <= j < self.J else 1

    def is_real(self, j: int, k: int) -> bool:
        """Whether harmonic ``k`` of band ``j`` counts as a real map (its covariances have no imaginary part): the
        moduli, g_{A/2} and the low-pass. The pixels x (k = 1) count as complex, as they always have: their
        covariances with the other pixel maps keep an imaginary part, identically zero."""
        return j == self.J or k in (0, self.A // 2)

    def shift_unit(self, j: int) -> int:
        """The shifts of band ``j`` are in units of ``2^j`` pixels, those of the low-pass in units of ``2^(J−1)``."""
        return 2 ** min(j, self.J - 1)

    def cross_pairs(self) -> list[tuple[int, int]]:
        """The pairs of wavelet bands whose cross-scale covariances are kept: ``j < j2 ≤ j + delta_j``."""
        return [(j, j2) for j in range(self.J) for j2 in range(j + 1, min(self.J, j + self.delta_j + 1))]

    def resonant(self, j: int, j2: int) -> list[tuple[int, int]]:
        """The harmonic pairs ``(k, k2)`` of bands ``j < j2`` whose covariance a stationary process does not average to
        zero: ``k2 = k·2^(j2−j)`` (the phase of ``x ⋆ ψ_j`` raised to the frequency ratio), and modulus with ``x ⋆ ψ_j2``."""
        H = self.harmonics
        return [(k, k2) for k in H for k2 in H if k2 == k * 2 ** (j2 - j) or (k, k2) == (0, 1)]

    def theta_close(self, t1: int, t2: int) -> bool:
        """Orientations at most ``delta_theta`` apart, circularly."""
        d = abs(t1 - t2) % self.L
        return min(d, self.L - d) <= self.delta_theta

    def covariance(self, family: str, first: Channel, second: Channel, shift: tuple[int, int] = ZERO) -> list[Covariance]:
        """The real (and, for a complex covariance that is not a variance, imaginary) part of one covariance."""
        parts = [False]
        complex_pair = not (self.is_real(first.j, first.k) and self.is_real(second.j, second.k))
        if complex_pair and (first != second or shift != ZERO):
            parts.append(True)
        return [Covariance(family, first, second, shift, imaginary) for imaginary in parts]

    def records(self) -> list[Record]:
        """Every statistic, in the order of the output vector (families in the order of :data:`FAMILIES`)."""
        C, J, L = self.C, self.J, self.L
        out: list[Record] = [Mean(c) for c in range(C)]
        if self.pixels:
            out += self._all_pairs("pixel", [Channel(c, PIXEL, None, k) for c in range(C) for k in (0, 1)])
        lowpass = [Channel(c, J, None, k) for c in range(C) for k in (0, 1)]
        out += self._all_pairs("lowpass", lowpass)
        unit = self.shift_unit(J)
        for first in lowpass:
            for s in self.shifts:
                out += self.covariance("lowpass", first, first, (unit * s[0], unit * s[1]))
        out += [RectifiedMean(c, j, t, a) for j in range(J) for c in range(C) for t in range(L) for a in range(self.A)]
        out += [RectifiedMean(c, J, None, None) for c in range(C)]
        if self.pixels:
            out += [RectifiedMean(c, PIXEL, None, None) for c in range(C)]
        out += self._same_scale()
        out += self._cross_scale()
        for j in range(J):
            unit = self.shift_unit(j)
            for c in range(C):
                for t in range(L):
                    for k in self.harmonics:
                        channel = Channel(c, j, t, k)
                        for s in self.shifts:
                            out += self.covariance("shifted", channel, channel, (unit * s[0], unit * s[1]))
        return out

    def _all_pairs(self, family: str, channels: list[Channel]) -> list[Covariance]:
        return [cov for i, first in enumerate(channels) for second in channels[i:] for cov in self.covariance(family, first, second)]

    def _same_scale(self) -> list[Covariance]:
        """τ = 0, one scale: every pair of harmonics of one channel ``(c, θ)``; between channels, the moduli of every
        pair and the harmonics ``k ≥ 1`` of orientations at most ``delta_theta`` apart."""
        out = []
        for j in range(self.J):
            channels = [Channel(c, j, t, k) for k in self.harmonics for c in range(self.C) for t in range(self.L)]
            for i, first in enumerate(channels):
                for second in channels[i:]:
                    one_channel = (first.c, first.theta) == (second.c, second.theta)
                    if one_channel or (first.k == second.k and (first.k == 0 or self.theta_close(first.theta, second.theta))):
                        out += self.covariance("same_scale", first, second)
        return out

    def _cross_scale(self) -> list[Covariance]:
        """τ = 0, one colour: resonant harmonics of bands ``j < j2 ≤ j + delta_j``, then every band's moduli with the
        low-pass and its modulus."""
        out = []
        for j, j2 in self.cross_pairs():
            for c in range(self.C):
                for k, k2 in self.resonant(j, j2):
                    for t in range(self.L):
                        for t2 in range(self.L):
                            if k == k2 == 0 or self.theta_close(t, t2):
                                out += self.covariance("cross_scale", Channel(c, j, t, k), Channel(c, j2, t2, k2))
        for j in range(self.J):
            for c in range(self.C):
                for t in range(self.L):
                    for k2 in (0, 1):
                        out += self.covariance("cross_scale", Channel(c, j, t, 0), Channel(c, self.J, None, k2))
        return out
