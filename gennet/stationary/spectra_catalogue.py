"""The catalogue of the scattering spectra: which raw coefficients are computed, and the reduction that maps them
to the model's statistics (issue 33; the definitions: :mod:`gennet.stationary.scattering_spectra`).

Raw coefficients, per colour ``c`` (λ = (j, ℓ): scale j < J, orientation index ℓ < L):

- ``mean``: one; ``power`` S2(λ) and ``sparsity`` S̄1(λ): J·L each;
- ``phase_modulus`` S̄3(λ1, λ2), j1 ≤ j2: the real and imaginary parts of every (ℓ1, ℓ2);
- ``modulus`` S̄4(λ1, λ2, λ3), j1 ≤ j2 ≤ j3: for j1 = j2 only ℓ1 ≤ ℓ2 (S̄4 is Hermitian in (λ1, λ2)), and no
  imaginary part when λ1 = λ2 (a variance is real).

Reductions (S. Cheng, R. Morel, E. Allys, B. Ménard & S. Mallat, "Scattering spectra models for physics",
PNAS Nexus 3, pgae103, 2024, §"Reduced scattering spectra"; code: github SihaoCheng/scattering_transform,
``scattering_cov``'s ``*_iso`` and ``angle_transforms.py``/``scale_transforms.py``):

- ``"none"``: the raw coefficients themselves;
- ``"rotation"``: the average over all rotations, i.e. over ℓ1 at fixed differences ℓ2 − ℓ1, ℓ3 − ℓ1 (mod L) —
  the statistics of an isotropic field, L times fewer. A rotation by π/L turns ψ_{j,ℓ} into ψ_{j,ℓ+1}, and
  ψ_{j,ℓ+L} = conj(ψ_{j,ℓ}) (a Morlet wavelet turned by π is its conjugate; a modulus |x ⋆ ψ| does not change):
  a rotation by π conjugates S̄3 and S̄4, so the average over the full circle is their real part (Cheng et al.'s
  ``*_iso`` keep the real parts too). The result is exactly invariant to the rotations by multiples of π/2 of the
  image when L is a multiple of 4 (tested);
- ``"rotation_scale"``: then a cosine transform along j1 at fixed scale differences (j2 − j1, j3 − j1), keeping
  the ``scale_harmonics`` lowest frequencies: a self-similar field's coefficients vary slowly with the absolute
  scale (Cheng et al.'s ``FourierScale``).

Each statistic is a signed sum of raw coefficients (a :class:`SpectraEntry` per statistic); identical or vanishing
combinations are dropped, so that no statistic is counted twice.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

__all__ = ["REDUCTIONS", "SPECTRA_FAMILIES", "RawCoefficient", "SpectraEntry", "SpectraCatalogue"]

#: The reductions of :class:`~gennet.stationary.ScatteringSpectra2D`.
REDUCTIONS = ("none", "rotation", "rotation_scale")

#: The families, in output order.
SPECTRA_FAMILIES = ("mean", "power", "sparsity", "phase_modulus", "modulus")


class RawCoefficient(NamedTuple):
    """One raw real coefficient: ``family``, colour, scales ``(j1, j2, j3)`` and orientations ``(l1, l2, l3)`` (−1
    where a family has fewer), ``part`` ``"re"`` or ``"im"``. ``power``/``sparsity`` use (j1, l1); ``phase_modulus``
    (j1, l1) for the modulus and (j2, l2) for the wavelet; ``modulus`` (j1, l1), (j2, l2) the moduli, (j3, l3) the
    wavelet."""

    family: str
    c: int
    j: tuple[int, int, int]
    l: tuple[int, int, int]  # noqa: E741
    part: str


class SpectraEntry(NamedTuple):
    """One statistic of the model: its ``family``, colour, a ``label`` (scales and orientation differences or angular /
    scale harmonics, as text) and ``terms``: ``((raw index, coefficient), …)`` whose sum it is."""

    family: str
    c: int
    label: str
    terms: tuple[tuple[int, float], ...]


class SpectraCatalogue:
    """The raw coefficients of :class:`~gennet.stationary.ScatteringSpectra2D` and its statistics (the reduction).

    Args:
        J, L, C: scales, orientations, colours.
        reduction: one of :data:`REDUCTIONS`.
        scale_harmonics: with ``"rotation_scale"``, the cosine frequencies kept along j1 (≥ 1).

    Raises:
        ValueError: an unknown reduction, ``scale_harmonics < 1``.
    """

    def __init__(self, J: int, L: int, C: int, reduction: str = "rotation", scale_harmonics: int = 2) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if scale_harmonics < 1:
            raise ValueError(f"scale_harmonics must be ≥ 1, got {scale_harmonics}")
        self.J, self.L, self.C, self.reduction, self.scale_harmonics = J, L, C, reduction, int(scale_harmonics)
        self.raw = self._raw()
        self.index = {r: i for i, r in enumerate(self.raw)}
        entries = self._rotation_reduced() if reduction != "none" else self._identity()
        if reduction == "rotation_scale":
            entries = self._scale_reduced(entries)
        self.entries = _distinct(entries)

    # -- raw coefficients -------------------------------------------------------------------------
    def _raw(self) -> list[RawCoefficient]:
        J, L = self.J, self.L
        raw = []
        for c in range(self.C):
            raw.append(RawCoefficient("mean", c, (-1, -1, -1), (-1, -1, -1), "re"))
            for family in ("power", "sparsity"):
                raw += [RawCoefficient(family, c, (j, -1, -1), (l, -1, -1), "re") for j in range(J) for l in range(L)]
            for j1 in range(J):
                for j2 in range(j1, J):
                    raw += [RawCoefficient("phase_modulus", c, (j1, j2, -1), (l1, l2, -1), part)
                            for l1 in range(L) for l2 in range(L) for part in ("re", "im")]
            for j1, j2, j3 in self.scale_triples():
                for l1 in range(L):
                    for l2 in range(l1 if j1 == j2 else 0, L):
                        for l3 in range(L):
                            parts = ("re",) if (j1, l1) == (j2, l2) else ("re", "im")
                            raw += [RawCoefficient("modulus", c, (j1, j2, j3), (l1, l2, l3), part) for part in parts]
        return raw

    def scale_triples(self) -> list[tuple[int, int, int]]:
        """The scale triples ``j1 ≤ j2 ≤ j3`` of the ``modulus`` family, in order."""
        J = self.J
        return [(j1, j2, j3) for j1 in range(J) for j2 in range(j1, J) for j3 in range(j2, J)]

    def _term(self, family: str, c: int, j: tuple, l: tuple, part: str, sign: float) -> tuple[int, float] | None:  # noqa: E741
        """The raw index and coefficient of a coefficient given with any order of (λ1, λ2): ``modulus`` with j1 = j2
        and l1 > l2 is the conjugate of the stored (l2, l1); an imaginary part of a variance is 0 (``None``)."""
        if family == "modulus" and j[0] == j[1] and l[0] > l[1]:
            l = (l[1], l[0], l[2])  # noqa: E741
            sign = -sign if part == "im" else sign
        if family == "modulus" and (j[0], l[0]) == (j[1], l[1]) and part == "im":
            return None
        return self.index[RawCoefficient(family, c, j, l, part)], sign

    # -- reductions -------------------------------------------------------------------------------
    def _identity(self) -> list[SpectraEntry]:
        return [SpectraEntry(r.family, r.c, _label(r.j, r.l, r.part), ((i, 1.0),)) for i, r in enumerate(self.raw)]

    def _rotation_reduced(self) -> list[SpectraEntry]:
        """Averages over rotations by π/L: ℓ1 = s runs over 0..L−1 at fixed differences, real parts only (the average
        of a coefficient and its conjugate, which the rotations by π add)."""
        J, L = self.J, self.L
        entries = []
        for c in range(self.C):
            entries.append(SpectraEntry("mean", c, "", ((self.index[RawCoefficient("mean", c, (-1, -1, -1), (-1, -1, -1), "re")], 1.0),)))
            for family in ("power", "sparsity"):
                for j in range(J):
                    terms = tuple((self.index[RawCoefficient(family, c, (j, -1, -1), (s, -1, -1), "re")], 1 / L) for s in range(L))
                    entries.append(SpectraEntry(family, c, f"j={j}", terms))
            for j1 in range(J):
                for j2 in range(j1, J):
                    for d2 in range(L):
                        terms = [self._term("phase_modulus", c, (j1, j2, -1), (s, (s + d2) % L, -1), "re", 1 / L) for s in range(L)]
                        entries.append(SpectraEntry("phase_modulus", c, f"j=({j1},{j2}) dl={d2}", _clean(terms)))
            for j1, j2, j3 in self.scale_triples():
                for d2 in range(L):
                    for d3 in range(L):
                        terms = [self._term("modulus", c, (j1, j2, j3), (s, (s + d2) % L, (s + d3) % L), "re", 1 / L) for s in range(L)]
                        entries.append(SpectraEntry("modulus", c, f"j=({j1},{j2},{j3}) dl=({d2},{d3})", _clean(terms)))
        return entries

    def _scale_reduced(self, entries: list[SpectraEntry]) -> list[SpectraEntry]:
        """The cosine transform along j1 (orthonormal DCT-II over the j1 that a group of fixed scale differences and
        orientation label has), keeping its ``scale_harmonics`` lowest frequencies."""
        groups: dict[tuple, list[tuple[int, SpectraEntry]]] = {}
        out = []
        for entry in entries:
            if entry.family in ("phase_modulus", "modulus"):
                scales, rest = entry.label.split(" ", 1)
                j = tuple(int(v) for v in scales[3:-1].split(","))
                key = (entry.family, entry.c, tuple(v - j[0] for v in j), rest)
                groups.setdefault(key, []).append((j[0], entry))
            else:
                out.append(entry)
        for (family, c, differences, rest), members in groups.items():
            members.sort(key=lambda pair: pair[0])
            n = len(members)
            for k in range(min(self.scale_harmonics, n)):
                weight = math.sqrt((1 if k == 0 else 2) / n)
                terms: dict[int, float] = {}
                for i, (_, entry) in enumerate(members):
                    factor = weight * math.cos(math.pi * k * (i + 0.5) / n)
                    for index, coefficient in entry.terms:
                        terms[index] = terms.get(index, 0.0) + factor * coefficient
                label = f"dj={differences[1:]} cos{k} {rest}"
                out.append(SpectraEntry(family, c, label, _clean(list(terms.items()))))
        order = {family: i for i, family in enumerate(SPECTRA_FAMILIES)}
        return sorted(out, key=lambda entry: (entry.c, order[entry.family]))

    # -- the reduction as tensors -----------------------------------------------------------------
    def reduction_matrix(self) -> torch.Tensor:
        """``(M, R)`` float64 sparse (COO) matrix: statistics = matrix @ raw coefficients."""
        rows, columns, values = [], [], []
        for m, entry in enumerate(self.entries):
            for index, coefficient in entry.terms:
                rows.append(m)
                columns.append(index)
                values.append(coefficient)
        return torch.sparse_coo_tensor(torch.tensor([rows, columns]), torch.tensor(values, dtype=torch.float64),
                                       (len(self.entries), len(self.raw)), check_invariants=True).coalesce()


def _label(j: tuple, l: tuple, part: str) -> str:  # noqa: E741
    js = ",".join(str(v) for v in j if v >= 0)
    ls = ",".join(str(v) for v in l if v >= 0)
    return f"j=({js}) l=({ls}) {part}" if js else ""


def _clean(terms: list) -> tuple[tuple[int, float], ...]:
    """Merge the terms of one raw index, drop ``None`` and zero coefficients; sorted by index."""
    merged: dict[int, float] = {}
    for term in terms:
        if term is not None:
            merged[term[0]] = merged.get(term[0], 0.0) + term[1]
    return tuple(sorted((i, w) for i, w in merged.items() if abs(w) > 1e-12))


def _distinct(entries: list[SpectraEntry]) -> list[SpectraEntry]:
    """Drop the statistics that are identically zero or equal (up to sign) to an earlier one."""
    seen, out = set(), []
    for entry in entries:
        if not entry.terms:
            continue
        sign = 1.0 if entry.terms[0][1] > 0 else -1.0
        key = (entry.family, tuple((i, round(sign * w, 9)) for i, w in entry.terms))
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out
