"""Scattering spectra: covariances of scattering coefficients, the statistics of a maximum-entropy model of a
stationary field (issue 33).

For an image ``x`` (one realization of a stationary field) and the complex Morlet wavelets ψ_λ of
:func:`~gennet.transforms.filters.morlet_filter_bank` (kymatio's parameters; λ = (j, ℓ), scale j < J, orientation
θ_ℓ), with averages ⟨·⟩ over the (periodic) grid and Cov(f, g) = ⟨(f − ⟨f⟩) conj(g − ⟨g⟩)⟩:

    S2(λ)          = ⟨|x ⋆ ψ_λ|²⟩                                           power spectrum (in wavelet bands)
    S̄1(λ)          = ⟨|x ⋆ ψ_λ|⟩ / √S2(λ)                                  sparsity factors
    S̄3(λ1, λ2)     = Cov(x ⋆ ψ_λ2, |x ⋆ ψ_λ1| ⋆ ψ_λ2) / √(S2(λ1) S2(λ2)),        j1 ≤ j2    phase–modulus cross-spectrum
    S̄4(λ1, λ2, λ3) = Cov(|x ⋆ ψ_λ1| ⋆ ψ_λ3, |x ⋆ ψ_λ2| ⋆ ψ_λ3) / √(S2(λ1) S2(λ2)),  j1 ≤ j2 ≤ j3   modulus cross-spectrum

plus the mean ⟨x⟩. S̄3 is the correlation of the field with the envelope of its finer scales (non-zero where
phases align across scales: edges, filaments, the sign asymmetry of a field); S̄4 the cross-spectrum of the
envelopes |x ⋆ ψ_λ1|, |x ⋆ ψ_λ2| at the scale and orientation of λ3 (where the energy of two bands sits relative to
each other: the shape of the structures). S̄1, S̄3, S̄4 are normalized by the image's **own** power spectrum, as in
the paper, so that they are dimensionless and do not depend on the contrast; S2 carries the amplitude. The
:class:`~gennet.stationary.spectra_catalogue.SpectraCatalogue` lists the coefficients and their reductions (by
rotation: averages over the orientation at fixed orientation differences; by scale: a cosine transform along
j1).

**How they are computed.** Every covariance is a sum over frequencies, Cov(f ⋆ ψ, g ⋆ ψ) = Σ_ω f̂(ω) conj(ĝ(ω))
|ψ̂(ω)|² / d² (``d`` pixels; ψ̂ is real and vanishes at ω = 0, so the means drop out). For each j3 the maps
F = (x̂, Î_λ1 for j1 ≤ j3), with Î_λ = FFT(|x ⋆ ψ_λ|), are restricted to the frequencies where some |ψ̂_{j3,ℓ}|²
exceeds ``tolerance`` times its peak, and one weighted Gram matrix F diag(|ψ̂_{j3,ℓ3}|²) F^H per ℓ3 holds S2(j3, ℓ3)
(the (x̂, x̂) entry), every S3 with λ2 = (j3, ℓ3) (the (x̂, Î_λ1) entries) and every S4 with λ3 = (j3, ℓ3) (the
(Î_λ1, Î_λ2) entries): J·L filterings, J·L moduli and their FFTs, and J small Gram products per image.

Source: S. Cheng, R. Morel, E. Allys, B. Ménard & S. Mallat, "Scattering spectra models for physics", PNAS Nexus
3, pgae103 (2024), eqs. for S1–S4 and §"Reduced scattering spectra" (code: github SihaoCheng/scattering_transform,
``Scattering2d.scattering_cov``, whose C01 weighs by ψ̂ where the paper's covariance, used here, weighs by |ψ̂|²);
E. Allys et al., "New interpretable statistics for large-scale structure analysis and generation", Phys. Rev. D
102, 103506 (2020) (the wavelet phase harmonics these extend); J. Bruna & S. Mallat, TPAMI 2013 (scattering).
"""

from __future__ import annotations

from collections import Counter

import torch
from torch import nn

from ..transforms.filters import morlet_filter_bank
from .spectra_catalogue import REDUCTIONS, SPECTRA_FAMILIES, RawCoefficient, SpectraCatalogue, SpectraEntry

__all__ = ["ScatteringSpectra2D", "REDUCTIONS", "SPECTRA_FAMILIES"]


class ScatteringSpectra2D(nn.Module):
    """Φ(x): the mean, the power spectrum S2, the sparsity factors S̄1 and the normalized scattering spectra S̄3, S̄4.

    The definitions, the computation and the source are in the module's docstring; the reductions in
    :mod:`gennet.stationary.spectra_catalogue`. :meth:`table` names each of the ``M`` statistics, :meth:`describe`
    counts them per family. Colour images: the statistics of each channel (no cross-colour terms).

    Args:
        shape: ``(H, W)`` image size in pixels, both ≥ ``2**J``.
        J: scales ``j = 0..J−1`` (the wavelet at j has its central frequency at 3π/4 · 2^-j radians per pixel).
        L: orientations (over π).
        channels: ``C``, colours.
        reduction: ``"none"``, ``"rotation"`` (default: isotropic statistics) or ``"rotation_scale"``.
        scale_harmonics: the cosine frequencies along j1 kept by ``"rotation_scale"``.
        tolerance: frequencies where |ψ̂_{j3}|² is below ``tolerance`` × its peak are left out of the scale-j3
            sums (relative changes of the statistics of that order).

    Shapes: ``forward(x)``: ``x (B, C, H, W)`` float32/float64 → ``(B, M)`` in ``x``'s dtype. Differentiable (the
    gradient of |z| is taken as 0 where z = 0). Filters are float64 non-persistent buffers.

    Raises:
        ValueError: sizes smaller than ``2**J``, ``J < 1``, ``L < 2``, ``channels < 1``, a bad reduction; in
            ``forward``, images of another shape.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        J: int = 5,
        L: int = 4,
        channels: int = 1,
        reduction: str = "rotation",
        scale_harmonics: int = 2,
        tolerance: float = 1e-8,
    ) -> None:
        super().__init__()
        H, W = (int(s) for s in shape)
        if J < 1 or L < 2 or channels < 1 or min(H, W) < 2**J:
            raise ValueError(f"need J ≥ 1, L ≥ 2, channels ≥ 1 and H, W ≥ 2**J; got J={J}, L={L}, channels={channels}, shape={shape}")
        self.H, self.W, self.J, self.L, self.C = H, W, int(J), int(L), int(channels)
        self.reduction = reduction
        self.catalogue = SpectraCatalogue(self.J, self.L, self.C, reduction, scale_harmonics)
        self._entries = self.catalogue.entries
        bank = morlet_filter_bank(H, W, self.J, self.L)
        self.register_buffer("psi", bank.psi.reshape(self.J * self.L, H, W), persistent=False)  # (J·L, H, W) real
        #: whether any statistic uses an imaginary part (the rotation reductions keep the real parts only)
        self.imaginary = reduction == "none"
        d, half = H * W, W // 2 + 1
        # Sums over the full plane from the rfft2 half plane: Σ_ω P(ω) w(ω) = Σ_half P(ω) w(ω) + conj P(ω) w(−ω) over
        # the columns whose mirror is not in the half plane, P(ω) w(ω) alone over the others (columns 0 and W/2).
        rows, cols = torch.arange(H)[:, None], torch.arange(half)[None, :]
        interior = ((cols > 0) & (2 * cols != W)).to(torch.float64)
        for j3 in range(self.J):
            power = bank.psi[j3].square() / d**2  # (L, H, W): |ψ̂|² / d²
            direct = power[:, :, :half]
            mirror = power[:, (-rows) % H, (-cols) % W] * interior
            symmetric, antisymmetric = (direct + mirror).flatten(1), (direct - mirror).flatten(1)
            keep = (symmetric.amax(dim=0) > tolerance * symmetric.max()).nonzero().squeeze(1)
            self.register_buffer(f"bins_{j3}", keep, persistent=False)
            both = torch.cat([symmetric[:, keep], symmetric[:, keep]], dim=1)  # the real and imaginary parts of the maps
            self.register_buffer(f"symmetric_{j3}", both[:, None], persistent=False)  # (L, 1, 2K)
            self.register_buffer(f"antisymmetric_{j3}", antisymmetric[:, None, keep], persistent=False)  # (L, 1, K)
        self.register_buffer("gather", self._gather_index(), persistent=False)
        self.register_buffer("reduction_matrix", self.catalogue.reduction_matrix(), persistent=False)

    # -- layout -----------------------------------------------------------------------------------
    def _gram_offsets(self) -> list[int]:
        """Start of each j3's Gram block ``(L, n, n)`` (real and imaginary parts interleaved) in the flat vector."""
        offsets, position = [], 0
        for j3 in range(self.J):
            n = 1 + (j3 + 1) * self.L
            offsets.append(position)
            position += self.L * n * n * 2
        return offsets

    def _gather_index(self) -> torch.Tensor:
        """For each raw coefficient, its position in the flat per-channel vector [mean, S1 means (J·L), Gram blocks]."""
        J, L = self.J, self.L
        offsets = self._gram_offsets()
        base = 1 + J * L  # after the mean and the J·L modulus means
        size = base + offsets[-1] + L * (1 + J * L) ** 2 * 2

        def gram(j3: int, l3: int, row: int, column: int, part: str) -> int:
            n = 1 + (j3 + 1) * L
            return base + offsets[j3] + ((l3 * n + row) * n + column) * 2 + (part == "im")

        index = []
        for r in self.catalogue.raw:
            (j1, j2, j3), (l1, l2, l3) = r.j, r.l
            if r.family == "mean":
                position = 0
            elif r.family == "sparsity":
                position = 1 + j1 * L + l1
            elif r.family == "power":
                position = gram(j1, l1, 0, 0, "re")
            elif r.family == "phase_modulus":
                position = gram(j2, l2, 0, 1 + j1 * L + l1, r.part)
            else:
                position = gram(j3, l3, 1 + j1 * L + l1, 1 + j2 * L + l2, r.part)
            index.append(r.c * size + position)
        return torch.tensor(index, dtype=torch.long)

    @property
    def M(self) -> int:
        """The number of statistics."""
        return len(self._entries)

    def table(self) -> list[SpectraEntry]:
        """The ``M`` statistics in output order (family, colour, label, the raw terms they sum)."""
        return list(self._entries)

    def describe(self) -> dict[str, int]:
        """``{family: count}`` in output order; the counts sum to ``M``."""
        return dict(Counter(entry.family for entry in self._entries))  # first-seen order: the output order

    # -- evaluation -------------------------------------------------------------------------------
    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """The raw coefficients (:attr:`SpectraCatalogue.raw` order) of ``x (B, C, H, W)``: ``(B, R)``, normalized."""
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.C, self.H, self.W):
            raise ValueError(f"expected images of shape (B, {self.C}, {self.H}, {self.W}), got {tuple(x.shape)}")
        dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        x = x.to(dtype)
        B, C = x.shape[:2]
        J, L = self.J, self.L
        spectrum = torch.fft.fft2(x)  # (B, C, H, W)
        z = torch.fft.ifft2(spectrum[:, :, None] * self._cast("psi", dtype))  # (B, C, J·L, H, W)
        modulus = z.abs()
        half = torch.cat([torch.fft.rfft2(x)[:, :, None], torch.fft.rfft2(modulus)], dim=2).flatten(-2)  # (B, C, 1 + J·L, h)
        blocks = [x.mean(dim=(-2, -1))[..., None], modulus.mean(dim=(-2, -1))]
        for j3 in range(J):
            maps = half[:, :, : 1 + (j3 + 1) * L].index_select(-1, getattr(self, f"bins_{j3}"))  # (B, C, n, K)
            parts = torch.cat([maps.real, maps.imag], dim=-1)[:, :, None]  # (B, C, 1, n, 2K)
            real = (parts * self._cast(f"symmetric_{j3}", dtype)) @ parts.transpose(-1, -2)  # (B, C, L, n, n)
            if self.imaginary:  # Im Σ F_n conj(F_m) w = M − Mᵀ, M = (Im F · w⁻) (Re F)ᵀ
                M = (maps.imag[:, :, None] * self._cast(f"antisymmetric_{j3}", dtype)) @ maps.real[:, :, None].transpose(-1, -2)
                imaginary = M - M.transpose(-1, -2)
            else:
                imaginary = torch.zeros_like(real)
            blocks.append(torch.stack([real, imaginary], dim=-1).flatten(2))
        values = torch.cat(blocks, dim=-1).flatten(1).index_select(1, self.gather)  # (B, R) unnormalized
        return values * self._normalization(values)

    def _cast(self, name: str, dtype: torch.dtype) -> torch.Tensor:
        """Buffer ``name`` in ``dtype``, cached until the buffer changes (``.to(device)``)."""
        buffer = getattr(self, name)
        if buffer.dtype == dtype:
            return buffer
        cache = self.__dict__.setdefault("_casts", {})
        cached = cache.get((name, dtype))
        if cached is None or cached[0] is not buffer:
            cached = cache[(name, dtype)] = (buffer, buffer.to(dtype))
        return cached[1]

    def _normalization(self, values: torch.Tensor) -> torch.Tensor:
        """Per raw coefficient, the factor that normalizes it by the image's own power: 1/√S2(λ) for S1, 1/√(S2 S2)
        for S3 and S4, 1 for the mean and S2. ``(B, R)``."""
        if not hasattr(self, "_norm_plan"):
            self._norm_plan = self._normalization_plan()
        power_index, first, second, exponent = (t.to(values.device) for t in self._norm_plan)
        power = values.index_select(1, power_index).clamp_min(torch.finfo(values.dtype).tiny)  # (B, C·J·L)
        return (power.index_select(1, first) * power.index_select(1, second)).pow(-exponent)

    def _normalization_plan(self) -> tuple[torch.Tensor, ...]:
        J, L = self.J, self.L
        raw, index = self.catalogue.raw, self.catalogue.index
        power_index = [index[RawCoefficient("power", c, (j, -1, -1), (l, -1, -1), "re")] for c in range(self.C) for j in range(J) for l in range(L)]
        first, second, exponent = [], [], []
        for r in raw:
            base = r.c * J * L
            lam1 = base + r.j[0] * L + r.l[0] if r.j[0] >= 0 else 0
            if r.family in ("mean", "power"):
                first.append(0), second.append(0), exponent.append(0.0)
            elif r.family == "sparsity":
                first.append(lam1), second.append(lam1), exponent.append(0.25)
            else:
                first.append(lam1), second.append(base + r.j[1] * L + r.l[1]), exponent.append(0.5)
        return (torch.tensor(power_index), torch.tensor(first), torch.tensor(second), torch.tensor(exponent, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Φ(x) for images ``x: (B, C, H, W)`` → ``(B, M)`` in the order of :meth:`table`."""
        out_dtype = x.dtype
        with torch.autocast(device_type=x.device.type, enabled=False):
            raw = self.raw(x)
            reduced = torch.sparse.mm(self.reduction_matrix.to(raw.dtype), raw.T).T
        return reduced.to(out_dtype if out_dtype in (torch.float32, torch.float64) else raw.dtype)

    def scale(self, target: torch.Tensor, raw: torch.Tensor | None = None) -> torch.Tensor:
        """The unit of each statistic's residual, ``(M,)``, from the target's own coefficients: its standard deviation
        for the mean; S2 itself for S2 (relative errors); for S̄1 the normalized spread of the modulus √(1 − S̄1²);
        for S̄4(λ1, λ2, λ3) the geometric mean √(S̄4(λ1, λ1, λ3) S̄4(λ2, λ2, λ3)) of the two envelopes' own power at
        λ3, and for S̄3(λ1, λ2) √S̄4(λ1, λ1, λ2) (with x ⋆ ψ_λ2's, which is 1) — so that their residuals are errors of
        correlation coefficients, as in :meth:`PhaseHarmonicCovariance2D.scale`. A reduced statistic gets the
        root-mean-square of the units of its terms.

        Args:
            target: ``(1, C, H, W)`` or ``(C, H, W)``.
            raw: ``Φ(target)`` ``(M,)`` (unused: the units need the raw coefficients, recomputed here).
        """
        if target.dim() == 3:
            target = target[None]
        with torch.no_grad():
            coefficients = self.raw(target[:1])[0].to(torch.float64)
            std = target[0].reshape(self.C, -1).std(dim=1).to(torch.float64)
        tiny = 1e-12
        units = []
        for i, r in enumerate(self.catalogue.raw):
            (j1, j2, j3), (l1, l2, l3) = r.j, r.l
            if r.family == "mean":
                unit = float(std[r.c])
            elif r.family == "power":
                unit = abs(float(coefficients[i]))
            elif r.family == "sparsity":
                unit = max(1 - float(coefficients[i]) ** 2, 0.0) ** 0.5
            elif r.family == "phase_modulus":
                unit = self._envelope_power(coefficients, r.c, (j1, l1), (j2, l2)) ** 0.5
            else:
                unit = (self._envelope_power(coefficients, r.c, (j1, l1), (j3, l3))
                        * self._envelope_power(coefficients, r.c, (j2, l2), (j3, l3))) ** 0.5
            units.append(max(unit, tiny))
        units = torch.tensor(units, dtype=torch.float64, device=coefficients.device)
        reduction = self.reduction_matrix.to(coefficients.device)
        weights = torch.sparse_coo_tensor(reduction.indices(), reduction.values().abs(), reduction.shape, check_invariants=True)
        mean_square = torch.sparse.mm(weights, units.square()[:, None])[:, 0] / torch.sparse.mm(weights, torch.ones_like(units)[:, None])[:, 0]
        dtype = target.dtype if target.dtype in (torch.float32, torch.float64) else torch.float32
        return mean_square.sqrt().to(dtype)

    def _envelope_power(self, coefficients: torch.Tensor, c: int, modulus: tuple[int, int], wavelet: tuple[int, int]) -> float:
        """S̄4(λ, λ, λ3) = ⟨||x ⋆ ψ_λ| ⋆ ψ_λ3|²⟩ / S2(λ) of the target, for λ = ``modulus``, λ3 = ``wavelet``."""
        (j, l), (j3, l3) = modulus, wavelet  # noqa: E741
        index = self.catalogue.index[RawCoefficient("modulus", c, (j, j, j3), (l, l, l3), "re")]
        return max(float(coefficients[index]), 0.0)

    def extra_repr(self) -> str:
        return f"shape=({self.H}, {self.W}), J={self.J}, L={self.L}, channels={self.C}, reduction={self.reduction!r}, M={self.M}"

