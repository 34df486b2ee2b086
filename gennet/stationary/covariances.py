"""The evaluation of the phase-harmonic statistics: Fourier-domain covariances, batched by grid (DESIGN §10).

:class:`FourierCovariances` computes the entries a :class:`~gennet.stationary.catalogue.Catalogue` lists (their
definitions: :mod:`gennet.stationary.statistics`). Every band lives on a grid (subsampling step ``2^max(j −
oversampling, 0)``); the work is organized by grid, not by statistic:

1. per grid, ONE filtering of ``x̂`` by the filters of its bands (the wavelets ``ψ_{j,θ}``, and ``φ_J`` on the
   low-pass grid) with the mean of the aliases, one inverse FFT, one rectifier ρ over the ``A`` phases, one product
   with the harmonic basis (real components of g_k), and ONE ``rfft2`` of all the grid's real maps (the pixel maps
   x, |x − x̄| on the full grid too), times √(half-plane weights): ``F_g (B, C, n_g, h, w/2+1)``;
2. products of real components, ``Σ_ω F f̂ conj ĝ`` as real matrix products: per grid, the Gram matrix of all its
   maps, all colours, ``(B, C·n_g, C·n_g)`` (one product, no copy; it holds more pairs than the catalogue keeps —
   across colours only one band's are —, about 1.5× the flops of the kept blocks for C = 3, none more for C = 1);
   per pair of grids that some statistic relates, per colour, the same over the coarser grid's band (the finer
   spectrum cropped to it, one gather);
3. shifted covariances from the power spectra: ``|F|² @ cos(ω·τ)`` and ``Im(â conj b̂) @ sin(ω·τ)`` for every
   map of a grid and every shift unit of its bands;
4. the output: each statistic is ``Σ coefficient · blocks[index]`` (two terms) over the concatenated blocks; a
   complex covariance combines products of real components, E[a conj b] = E[a_r b_r + a_i b_i] + i E[a_i b_r − a_r b_i].

So one evaluation is about a hundred tensor operators whatever ``J``, ``L`` or the number of statistics (all index
tensors are built once, in ``__init__``), and no product is computed on a grid larger than its maps'.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import NamedTuple

import torch
from torch import nn

from ..transforms.filters import morlet_filter_bank
from ..transforms.fourier import alias_mean
from ..transforms.rectifier import phase_angles, rectify_phases
from .catalogue import PIXEL, Catalogue, Channel, Covariance, Mean, RectifiedMean

__all__ = ["Block", "FourierCovariances", "Grid"]


class Block(Enum):
    """The blocks ``forward`` concatenates, keyed ``(Block, grid or band)``: means, rectified means per grid, mean
    moduli of the low-pass and pixels per band, Gram matrices per grid and per pair of grids, power and cross
    spectra at the shifts per grid."""

    MEAN = 0
    RECTIFIED = 1
    MODULUS = 2
    GRAM = 3
    CROSS = 4
    POWER = 5
    SHIFTED_IM = 6


class Grid(NamedTuple):
    """The maps computed on one grid: subsampling ``step`` (pixels), ``shape`` ``(h, w)``, its bands in row order
    (pixels, wavelet bands, low-pass) and, per colour, ``rows`` real maps."""

    step: int
    shape: tuple[int, int]
    bands: tuple[int, ...]
    wavelets: tuple[int, ...]
    rows: int


def crop(spectrum: torch.Tensor, h_band: int, w_band: int) -> torch.Tensor:
    """The bins of an ``rfft2`` spectrum ``(..., h, w/2+1)`` at the frequencies of a coarser ``h_band × w_band``
    grid, without that grid's Nyquist row and column: ``(..., h_band − 1, w_band/2)``, rows in the order
    0, 1, …, h_band/2 − 1, −(h_band/2 − 1), …, −1 on every grid."""
    h = spectrum.shape[-2]
    top = spectrum[..., : h_band // 2, : w_band // 2]
    bottom = spectrum[..., h - h_band // 2 + 1 :, : w_band // 2]
    return torch.cat([top, bottom], dim=-2)


def crop_index(h: int, w: int, h_band: int, w_band: int) -> torch.Tensor:
    """Indices of :func:`crop`'s bins in the interleaved (real, imaginary) flattened ``rfft2`` spectrum of an ``h × w``
    grid, ``(2·(h_band − 1)·w_band/2,)`` int64."""
    bins = crop(torch.arange(h * (w // 2 + 1)).view(h, w // 2 + 1), h_band, w_band).flatten()
    return torch.stack([2 * bins, 2 * bins + 1], dim=-1).flatten()


def half_plane_weights(h: int, w: int) -> torch.Tensor:
    """Weights of the ``rfft2`` bins of an ``h × w`` grid in a sum over the whole plane of a Hermitian quantity, the
    mean (DC) excluded: a column that is its own mirror (0, and w/2 for even w) counts once, the others twice."""
    weights = torch.full((h, w // 2 + 1), 2.0, dtype=torch.float64)
    weights[:, 0] = 1.0
    if w % 2 == 0:
        weights[:, -1] = 1.0
    weights[0, 0] = 0.0
    return weights


def shift_phases(h: int, w: int, step: int, taus: list[tuple[int, int]]) -> torch.Tensor:
    """``cos(ω·τ)`` and ``sin(ω·τ)`` on the ``rfft2`` bins of an ``h × w`` grid of step ``step`` pixels, τ in pixels:
    ``(2, h·(w/2+1), S)`` float64."""
    fr = torch.fft.fftfreq(h, dtype=torch.float64) * 2 * math.pi / step
    fc = torch.fft.rfftfreq(w, dtype=torch.float64) * 2 * math.pi / step
    tau = torch.tensor(taus, dtype=torch.float64).reshape(-1, 2)
    angle = tau[:, 0, None, None] * fr[None, :, None] + tau[:, 1, None, None] * fc[None, None, :]
    return torch.stack([torch.cos(angle), torch.sin(angle)]).flatten(2).transpose(1, 2).contiguous()


class _Gram(torch.autograd.Function):
    """``F Fᵀ`` over the last two dimensions, with the symmetric backward ``(G + Gᵀ) F``: one product, not two."""

    @staticmethod
    def forward(ctx, F: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(F)
        return F @ F.transpose(-1, -2)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (F,) = ctx.saved_tensors
        return (grad + grad.transpose(-1, -2)) @ F


class _WeightedRFFT2(torch.autograd.Function):
    """``rfft2(maps, norm="forward") · weights`` of real maps, its backward one inverse real FFT (``irfft2`` of the
    gradient times the weights, halved on the columns that stand for two: the adjoint of the one-sided transform)
    instead of autograd's full complex FFT of a zero-padded gradient."""

    @staticmethod
    def forward(ctx, maps: torch.Tensor, weights: torch.Tensor, adjoint_weights: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(adjoint_weights)
        ctx.shape = maps.shape[-2:]
        return torch.fft.rfft2(maps, norm="forward") * weights

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (adjoint_weights,) = ctx.saved_tensors
        return torch.fft.irfft2(grad * adjoint_weights, s=ctx.shape, norm="backward"), None, None


class FourierCovariances(nn.Module):
    """The statistics of ``catalogue.records()`` for images ``(B, C, H, W)``, as ``(B, M)`` in that order.

    Args:
        shape: ``(H, W)``, checked by the caller (``2^J`` divides both).
        catalogue: which statistics.
        oversampling: band ``j`` lives on the grid subsampled by ``2^max(j − oversampling, 0)``, the low-pass on that
            of band ``J − 1``, the pixels on the full grid.

    ``forward(x)``: ``x`` float32 or float64 ``(B, C, H, W)`` → ``(B, M)`` in ``x``'s dtype (not checked here).
    Buffers are float64, non-persistent; their casts to float32 are cached.
    """

    def __init__(self, shape: tuple[int, int], catalogue: Catalogue, oversampling: int) -> None:
        super().__init__()
        self.catalogue = cat = catalogue
        H, W = shape
        J, L, A = cat.J, cat.L, cat.A
        self.step = {j: 2 ** max(min(j, J - 1) - oversampling, 0) for j in range(J + 1)} | ({PIXEL: 1} if cat.pixels else {})
        wavelet = tuple((k, imaginary) for k in cat.harmonics for imaginary in (False, True) if not imaginary or not cat.is_real(0, k))
        self.components = {j: wavelet if 0 <= j < J else ((0, False), (1, False)) for j in self.step}
        steps = sorted(set(self.step.values()))
        self.grid_of = {j: steps.index(s) for j, s in self.step.items()}
        self.offset: dict[int, int] = {}
        self.grids: list[Grid] = []
        for g, s in enumerate(steps):
            bands = tuple(j for j in sorted(self.step) if self.grid_of[j] == g)
            rows = 0
            for j in bands:
                self.offset[j] = rows
                rows += cat.orientations(j) * len(self.components[j])
            self.grids.append(Grid(s, (H // s, W // s), bands, tuple(j for j in bands if 0 <= j < J), rows))

        bank = morlet_filter_bank(H, W, J, L)
        alpha = 2 * math.pi * torch.arange(A, dtype=torch.float64) / A
        rows = [(4.0 / A if k == 1 else 1.0) * (-torch.sin(k * alpha) if imaginary else torch.cos(k * alpha)) for k, imaginary in wavelet]
        # g_k = Σ_a e^{-ikα_a} ρ_a, and conj(z) = (4/A) Σ_a e^{-iα_a} ρ_a exactly for even A (ρ(t) − ρ(−t) = t)
        self.register_buffer("harmonic_basis", torch.stack(rows), persistent=False)  # (Q, A)
        cos_alpha, sin_alpha = phase_angles(A)
        self.register_buffer("cos_alpha", cos_alpha.view(-1, 1, 1), persistent=False)
        self.register_buffer("sin_alpha", sin_alpha.view(-1, 1, 1), persistent=False)
        self.units: list[list[int]] = []  # per grid, the shift units of its bands (columns of its phase matrices)
        for g, grid in enumerate(self.grids):
            filters = [bank.psi[j] for j in grid.wavelets] + ([bank.phi[None]] if J in grid.bands else [])
            if filters:
                self.register_buffer(f"filters_{g}", torch.cat(filters), persistent=False)
            root = half_plane_weights(*grid.shape).sqrt()
            self.register_buffer(f"root_weights_{g}", root, persistent=False)
            mirrored = torch.full_like(root, 0.5)  # the adjoint of rfft2: columns 0 and w/2 count once, the others twice
            mirrored[:, 0] = 1.0
            if grid.shape[1] % 2 == 0:
                mirrored[:, -1] = 1.0
            self.register_buffer(f"adjoint_weights_{g}", root * mirrored, persistent=False)
            units = sorted({cat.shift_unit(j) for j in grid.bands if j != PIXEL})
            self.units.append(units)
            taus = [(u * r, u * c) for u in units for r, c in cat.shifts]
            bins = grid.shape[0] * (grid.shape[1] // 2 + 1)
            cos, sin = shift_phases(*grid.shape, grid.step, taus) if taus else torch.zeros(2, bins, 0, dtype=torch.float64)
            # on the interleaved (re, im) spectra: |f̂|² cos = re² cos + im² cos; Im(â conj b̂) sin = (âi b̂r − âr b̂i) sin
            self.register_buffer(f"cos_shift_{g}", cos.repeat_interleave(2, dim=0), persistent=False)
            self.register_buffer(f"sin_shift_{g}", torch.stack([-sin, sin], dim=1).flatten(0, 1), persistent=False)
        # per grid, the rows of the real parts of the complex harmonics (their imaginary parts are the next rows)
        real_parts = [q for q, (k, imaginary) in enumerate(wavelet) if not imaginary and (k, True) in wavelet]
        self.pairs = [[self.offset[j] + t * len(wavelet) + q for j in grid.wavelets for t in range(L) for q in real_parts] for grid in self.grids]
        for g, rows in enumerate(self.pairs):
            self.register_buffer(f"pairs_{g}", torch.tensor(rows + [r + 1 for r in rows], dtype=torch.long), persistent=False)
        self._cast_cache: dict[tuple[str, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}

        records = cat.records()
        self.cross_grids = sorted(
            {tuple(sorted((self.grid_of[r.first.j], self.grid_of[r.second.j]))) for r in records if isinstance(r, Covariance)}
            - {(g, g) for g in range(len(self.grids))}
        )
        for g, g2 in self.cross_grids:  # the bins of the coarser grid's band, in the interleaved (re, im) spectra
            for key in ((g, g2), (g2, g2)):
                if not hasattr(self, f"crop_{key[0]}_{key[1]}"):
                    index = crop_index(*self.grids[key[0]].shape, *self.grids[g2].shape)
                    self.register_buffer(f"crop_{key[0]}_{key[1]}", index, persistent=False)
        index, coefficient = self._gather(records)
        self.register_buffer("gather_index", index, persistent=False)
        self.register_buffer("gather_coefficient", coefficient, persistent=False)

    # -- layout of the concatenated blocks --------------------------------------------------------
    def _block_sizes(self) -> list[tuple[tuple, int]]:
        """``(key, size per image)`` of each block, in the order ``forward`` concatenates them."""
        C, L, A = self.catalogue.C, self.catalogue.L, self.catalogue.A
        G = self.grids
        sizes = [((Block.MEAN,), C)]
        sizes += [((Block.RECTIFIED, g), C * len(grid.wavelets) * L * A) for g, grid in enumerate(G) if grid.wavelets]
        sizes += [((Block.MODULUS, j), C) for j in (self.catalogue.J, PIXEL) if j in self.step]
        sizes += [((Block.GRAM, g), (C * grid.rows) ** 2) for g, grid in enumerate(G)]
        sizes += [((Block.CROSS, g, g2), C * G[g].rows * G[g2].rows) for g, g2 in self.cross_grids]
        S = len(self.catalogue.shifts)
        sizes += [((Block.POWER, g), C * grid.rows * len(self.units[g]) * S) for g, grid in enumerate(G)]
        sizes += [((Block.SHIFTED_IM, g), C * len(rows) * len(self.units[g]) * S) for g, rows in enumerate(self.pairs) if rows]
        return sizes

    def _row(self, channel: Channel, imaginary: bool) -> int | None:
        """The row of a real component in its grid's maps of one colour, or ``None`` if it is identically zero."""
        components = self.components[channel.j]
        if (channel.k, imaginary) not in components:
            return None
        return self.offset[channel.j] + (channel.theta or 0) * len(components) + components.index((channel.k, imaginary))

    def _gather(self, records: list) -> tuple[torch.Tensor, torch.Tensor]:
        """Each statistic as ``Σ coefficient · blocks[index]`` (two terms) over the concatenated blocks."""
        cat, G, C = self.catalogue, self.grids, self.catalogue.C
        start, position = {}, 0
        for key, size in self._block_sizes():
            start[key] = position
            position += size
        self.size, self._blocks = position, [key for key, _ in self._block_sizes()]
        S = len(cat.shifts)

        def product(first: Channel, part1: bool, second: Channel, part2: bool) -> tuple[int, float]:
            """Position of Σ F(first_part1) F(second_part2), or a zero term when one component is identically zero."""
            r1, r2 = self._row(first, part1), self._row(second, part2)
            if r1 is None or r2 is None:
                return 0, 0.0
            g1, g2 = self.grid_of[first.j], self.grid_of[second.j]
            if g1 == g2:  # all colours
                n = G[g1].rows
                return start[(Block.GRAM, g1)] + (first.c * n + r1) * C * n + second.c * n + r2, 1.0
            assert first.c == second.c, (first, second)  # across grids: one colour
            if g1 > g2:  # finer grid first
                g1, g2, r1, r2 = g2, g1, r2, r1
            return start[(Block.CROSS, g1, g2)] + (first.c * G[g1].rows + r1) * G[g2].rows + r2, 1.0

        def shifted(channel: Channel, shift: tuple[int, int], kind: Block, row: int) -> int:
            g, unit = self.grid_of[channel.j], cat.shift_unit(channel.j)
            s = cat.shifts.index((shift[0] // unit, shift[1] // unit))
            columns = len(self.units[g]) * S
            if kind is Block.SHIFTED_IM:
                rows, row = len(self.pairs[g]), self.pairs[g].index(row)
            else:
                rows = G[g].rows
            return start[(kind, g)] + (channel.c * rows + row) * columns + self.units[g].index(unit) * S + s

        index, coefficient = [], []
        for r in records:
            if isinstance(r, Mean):
                terms = [(start[(Block.MEAN,)] + r.c, 1.0)]
            elif isinstance(r, RectifiedMean) and r.a is None:
                terms = [(start[(Block.MODULUS, r.j)] + r.c, 1.0)]
            elif isinstance(r, RectifiedMean):
                g = self.grid_of[r.j]
                local = G[g].wavelets.index(r.j) * cat.L + r.theta
                terms = [(start[(Block.RECTIFIED, g)] + (r.c * len(G[g].wavelets) * cat.L + local) * cat.A + r.a, 1.0)]
            elif r.shift != (0, 0):  # a channel with itself: Σ (|â|² + |b̂|²) cos ωτ, im: 2 Σ Im(â conj b̂) sin ωτ
                re_row, im_row = self._row(r.first, False), self._row(r.first, True)
                if r.imaginary:
                    terms = [(shifted(r.first, r.shift, Block.SHIFTED_IM, re_row), 2.0)]
                else:
                    terms = [(shifted(r.first, r.shift, Block.POWER, row), 1.0) for row in (re_row, im_row) if row is not None]
            elif r.imaginary:
                terms = [product(r.first, True, r.second, False), product(r.first, False, r.second, True)]
                terms[1] = (terms[1][0], -terms[1][1])
            else:
                terms = [product(r.first, False, r.second, False), product(r.first, True, r.second, True)]
            terms += [(0, 0.0)] * (2 - len(terms))
            index.append([i for i, _ in terms])
            coefficient.append([w for _, w in terms])
        return torch.tensor(index, dtype=torch.long), torch.tensor(coefficient, dtype=torch.float64)

    # -- evaluation -------------------------------------------------------------------------------
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

    def _grid_spectra(self, x: torch.Tensor, mean: torch.Tensor) -> tuple[list[torch.Tensor], dict]:
        """Per grid, ``F_g``: the weighted ``rfft2`` of its centred real maps ``(B, C, n_g, h, w/2+1)``; and the means
        ``{(Block.RECTIFIED, g): (B, C, n, A), (Block.MODULUS, j): (B, C)}``."""
        B, C = x.shape[:2]
        dtype, J = x.dtype, self.catalogue.J
        spectrum = torch.fft.fft2(x)[:, :, None]  # (B, C, 1, H, W)
        means, spectra = {}, []
        for g, grid in enumerate(self.grids):
            maps = []
            if PIXEL in grid.bands:
                centred = x - mean[:, :, None, None]
                modulus = centred.abs()
                means[(Block.MODULUS, PIXEL)] = modulus.mean(dim=(-2, -1))
                maps.append(torch.stack([modulus, centred], dim=2))  # their means fall on the zero-weight DC bin
            if grid.wavelets or J in grid.bands:
                z = torch.fft.ifft2(alias_mean(spectrum * self._cast(f"filters_{g}", dtype), grid.step))  # (B, C, n, h, w)
            low = None
            if grid.wavelets:
                n = len(grid.wavelets) * self.catalogue.L
                z, low = z.split([n, z.shape[2] - n], dim=2) if J in grid.bands else (z, None)
                rho = rectify_phases(z, self._cast("cos_alpha", dtype), self._cast("sin_alpha", dtype))
                means[(Block.RECTIFIED, g)] = rho.sum(dim=(-2, -1)) / (grid.shape[0] * grid.shape[1])  # (B, C, n, A)
                maps.append((self._cast("harmonic_basis", dtype) @ rho.flatten(-2)).flatten(2, 3).unflatten(-1, grid.shape))
            if J in grid.bands:
                lowpass = (z if low is None else low).real.flatten(1, 2)  # (B, C, h, w)
                lowpass = lowpass - lowpass.mean(dim=(-2, -1), keepdim=True)
                modulus = lowpass.abs()
                means[(Block.MODULUS, J)] = modulus.mean(dim=(-2, -1))
                maps.append(torch.stack([modulus, lowpass], dim=2))
            maps = torch.cat(maps, dim=2) if len(maps) > 1 else maps[0]
            weights = self._cast(f"root_weights_{g}", dtype), self._cast(f"adjoint_weights_{g}", dtype)
            spectra.append(_WeightedRFFT2.apply(maps, *weights))
        return spectra, means

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C = x.shape[:2]
        dtype, cat, G = x.dtype, self.catalogue, self.grids
        mean = x.mean(dim=(-2, -1))
        spectra, means = self._grid_spectra(x, mean)
        flat = [torch.view_as_real(F).flatten(-3) for F in spectra]  # (B, C, n_g, 2·bins)
        blocks = {(Block.MEAN,): mean, **means}
        for g, F in enumerate(flat):  # one grid: Gram of all its maps of all colours
            blocks[(Block.GRAM, g)] = _Gram.apply(F.flatten(1, 2))
        cropped = {}
        for g, g2 in self.cross_grids:  # one colour, two grids: over the coarser grid's band
            for key in ((g, g2), (g2, g2)):
                if key not in cropped:
                    cropped[key] = flat[key[0]].index_select(-1, getattr(self, f"crop_{key[0]}_{key[1]}"))
            blocks[(Block.CROSS, g, g2)] = cropped[(g, g2)] @ cropped[(g2, g2)].transpose(-1, -2)
        for g, F in enumerate(flat):  # shifted covariances of each map with itself, from the power spectra
            blocks[(Block.POWER, g)] = F.square() @ self._cast(f"cos_shift_{g}", dtype)
            if self.pairs[g]:  # Im(â conj b̂) of the (re, im) components â, b̂ of each complex harmonic
                re, im = F.index_select(2, getattr(self, f"pairs_{g}")).chunk(2, dim=2)
                swapped = im.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)  # (b̂i, b̂r) interleaved
                blocks[(Block.SHIFTED_IM, g)] = (re * swapped) @ self._cast(f"sin_shift_{g}", dtype)
        out = torch.cat([blocks[key].reshape(B, -1) for key in self._blocks], dim=1)
        return (out[:, self.gather_index] * self._cast("gather_coefficient", dtype)).sum(-1)
