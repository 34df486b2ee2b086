"""Scattering features of molecules: densities (:mod:`.density`) → solid harmonic scattering invariants
(:class:`.HarmonicScattering3D` on a grid, :mod:`.exact_invariants` without one), in batches, with a progress bar
and an on-disk cache.

The features, in this order (each part optional):

- ``counts``: the number of atoms of each element (H, C, N, O, F) — the "dressed atom" part of the energy, which
  the order-0 integrals ``∫ x^q`` of well separated atoms reduce to;
- the grid-free invariants (:mod:`.exact_invariants`, exact and exactly rotation invariant): per channel pair
  ``∫ x_c x_c'`` and the first-order ``q = 2`` invariants at the widths ``exact_scales`` and degrees
  ``l ≤ exact_L``, then per channel ``∫ (U[j,0] x_c)³`` at ``cubic_scales``;
- the grid's invariants per charge channel: the order-0 integrals ``∫ x^q`` (``grid_order0``), the first- and
  second-order invariants ``∫ (U[j,l] x)^q``, ``∫ (U[j2,l] U[j1,l] x)^q`` (Eickenberg et al., J. Chem. Phys. 148,
  241732, 2018, eqs. 9–11).

Integrals are in physical units (sums over voxels × h³).

The cache is one float32 array per parameter set, ``cache_dir/scattering-<key>/features.npy``
(``(n_molecules, n_features)``, memory-mapped) with a ``done.npy`` mask of the rows computed: runs asking for
other molecules of the same dataset compute only the missing rows (and an interrupted run resumes). ``key``
hashes every parameter, the feature code's version and the dataset's content (molecule numbers, charges,
positions), so a stale cache is never read; each block of rows carries a checksum, verified when the cache is read
(:mod:`.feature_cache`): a damaged or truncated block is computed again, never read as computed.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..files import write_text_atomic
from .feature_cache import FeatureCache
from .density import CHANNELS, align_principal_axes, charge_channels, check_fits, density_fourier
from .exact_invariants import channel_pairs, cubic_invariants, pair_energy_invariants
from .harmonic_scattering import HarmonicScattering3D
from .qm9 import QM9

__all__ = ["ELEMENTS", "FEATURES_VERSION", "ScatteringFeatures", "element_counts"]

#: Bumped whenever the features' definition changes (part of the cache key).
FEATURES_VERSION = 2

#: Widths (Å) of the grid-free ``q = 2`` invariants by default: half octaves from 0.42 Å (≈ 1.9 σ for σ = 0.22 Å,
#: the authors' σ₀) to 9.5 Å, ``0.42 · 2^(j/2)`` rounded as in ``gennet/conf/features/reference.yaml``.
REFERENCE_SCALES = (0.42, 0.594, 0.84, 1.188, 1.68, 2.376, 3.36, 4.752, 6.72, 9.504)

#: The elements counted by ``counts`` (atomic numbers of QM9's H, C, N, O, F).
ELEMENTS = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}


def element_counts(charges) -> torch.Tensor:
    """``(n, 5)`` float64 numbers of H, C, N, O, F atoms of padded molecules (``charges (n, A)``, 0 = padding)."""
    z = torch.as_tensor(np.asarray(charges) if not isinstance(charges, torch.Tensor) else charges)
    return torch.stack([(z == k).sum(1) for k in ELEMENTS], 1).double()


def _ordered_unique(rows: np.ndarray) -> np.ndarray:
    """``rows`` without repeats, in the order of their first occurrence."""
    _, first = np.unique(rows, return_index=True)
    return rows[np.sort(first)]


def _add_timing(path: Path, timing: dict) -> None:
    """Accumulate the molecules and seconds spent computing a cache's rows in ``timing.json``."""
    total = {"molecules": 0, "wall_s": 0.0, "cpu_s": 0.0}
    try:
        earlier = json.loads(path.read_text())
        if isinstance(earlier, dict) and all(isinstance(earlier.get(k), (int, float)) for k in total):
            total = {k: earlier[k] for k in total}
    except (OSError, ValueError):  # none yet, or a damaged record: counted from here
        pass
    for key in total:
        total[key] += timing[key]
    write_text_atomic(path, json.dumps(total, indent=1), key="data.cache_dir")


@dataclass
class ScatteringFeatures:
    """Solid harmonic scattering features of molecules.

    Attributes:
        shape: grid ``(M, N, O)`` voxels (axis 0 holds a molecule's longest principal axis when ``align``).
        spacing: Å per voxel.
        sigma_density: width of the atoms' Gaussians, Å.
        sigma_0: width of the mother wavelet, Å (``sigma_0 / spacing`` voxels; ≥ ~1.5 voxels for invariance).
        J, L, max_order, integral_powers: as :class:`HarmonicScattering3D`.
        channels: charge channels from ``("full", "valence", "core", "bond_valence")``.
        margin_sigmas: clearance required between a molecule and its periodic copy, in units of the widest
            smoothing ``sqrt(sigma_density² + (sigma_0 2^J)²)`` (:func:`check_fits`; :attr:`margin` in Å).
        subsample: coarse grids for the large scales (:class:`HarmonicScattering3D`), voxels, or None.
        align: place molecules on their principal axes (a rigid motion) before gridding.
        grid: compute the grid's invariants (False: only the grid-free parts; no grid, no fit check).
        grid_order0: the grid's order-0 integrals ``∫ x^q`` (aliased unless ``sigma_density`` ≳ 1.5 ``spacing``;
            the grid-free ``∫ x²``, ``∫ x³`` and ``counts`` replace them at finer densities).
        counts: element counts (H, C, N, O, F) as the first features.
        exact_scales: wavelet widths σ_j, Å, of the grid-free first-order ``q = 2`` invariants (empty: none).
        exact_L: their largest degree l.
        cross_channels: the grid-free ``q = 2`` invariants of every channel pair ``c ≤ c'``, not only ``c = c'``.
        cubic_scales: widths σ_j ≥ 0, Å, of the grid-free ``∫ (U[j,0] x)³`` (0: the order-0 ``∫ x³``).
        batch_size: molecules per batch.
        device: torch device of the computation ("cpu", "cuda:0", …).
        dtype: "float32" or "float64".
    The defaults are the reference settings (``gennet/conf/features/reference.yaml``): Gaussians of 0.22 Å (the
    authors' rule: QM9's closest atoms, 0.959 Å apart, overlap ≤ 0.1), four channels, counts and the grid-free
    invariants, no grid; ``features/fast.yaml`` holds the grid settings used before.

    Raises:
        ValueError: at construction, a parameter out of range.
    """

    shape: Sequence[int] = (32, 28, 24)
    spacing: float = 0.7
    sigma_density: float = 0.22
    sigma_0: float = 1.05
    J: int = 1
    L: int = 3
    max_order: int = 2
    integral_powers: Sequence[float] = (0.5, 1.0, 2.0, 3.0)
    channels: Sequence[str] = CHANNELS
    margin_sigmas: float = 3.5
    subsample: float | None = 1.6
    align: bool = True
    grid: bool = False
    grid_order0: bool = False
    counts: bool = True
    exact_scales: Sequence[float] = REFERENCE_SCALES
    exact_L: int = 4
    cross_channels: bool = True
    cubic_scales: Sequence[float] = (0.0, *REFERENCE_SCALES[:6])
    batch_size: int = 64
    device: str = "cpu"
    dtype: str = "float32"
    _scattering: HarmonicScattering3D | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        self.integral_powers = tuple(float(q) for q in self.integral_powers)
        self.channels = tuple(self.channels)
        self.exact_scales = tuple(float(s) for s in self.exact_scales)
        self.cubic_scales = tuple(float(s) for s in self.cubic_scales)
        if any(not s > 0 for s in self.exact_scales):
            raise ValueError(f"exact_scales: positive widths in Å, got {list(self.exact_scales)}")
        if any(not s >= 0 for s in self.cubic_scales):
            raise ValueError(f"cubic_scales: widths >= 0 in Å, got {list(self.cubic_scales)}")
        if not (self.grid or self.counts or self.exact_scales or self.cubic_scales):
            raise ValueError("grid: no features left (grid false, no counts, no exact_scales, no cubic_scales)")
        if len(self.shape) != 3 or min(self.shape) < 4:
            raise ValueError(f"shape: expected three sizes >= 4, got {list(self.shape)}")
        for name in ("spacing", "sigma_density", "sigma_0"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)}")
        if not self.margin_sigmas >= 0:
            raise ValueError(f"margin_sigmas: must be >= 0, got {self.margin_sigmas}")
        if self.subsample is not None and not self.subsample > 0:
            raise ValueError(f"subsample: must be > 0 or null, got {self.subsample}")
        for name in ("J", "L", "exact_L"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: an integer >= 0, got {value!r}")
        if self.max_order not in (1, 2):
            raise ValueError(f"max_order: 1 or 2, got {self.max_order!r}")
        if not self.integral_powers or min(self.integral_powers) <= 0:
            raise ValueError(f"integral_powers: positive numbers, got {list(self.integral_powers)}")
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size: must be >= 1, got {self.batch_size}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype: float32 or float64, got {self.dtype!r}")
        charge_channels(torch.zeros(1, 1, dtype=torch.long), self.channels)  # validates the names
        try:
            torch.device(self.device)
        except RuntimeError as error:
            raise ValueError(f"device: {error}") from None

    @property
    def margin(self) -> float:
        """Å of clearance between a molecule and its periodic copies."""
        return self.margin_sigmas * math.sqrt(self.sigma_density**2 + (self.sigma_0 * 2**self.J) ** 2)

    # -- the transform -------------------------------------------------------------------------------------
    @property
    def scattering(self) -> HarmonicScattering3D:
        """The :class:`HarmonicScattering3D` on this grid (σ_0 in voxels), built once, on ``device``."""
        if self._scattering is None:
            self._scattering = HarmonicScattering3D(
                self.J, self.shape, L=self.L, sigma_0=self.sigma_0 / self.spacing, max_order=self.max_order,
                integral_powers=self.integral_powers, dtype=getattr(torch, self.dtype),
                subsample=self.subsample,
            ).to(self.device)
        return self._scattering

    @property
    def names(self) -> list[str]:
        """One name per feature column, e.g. ``valence/order0/q=2`` or ``full/j1=0,j2=2/l=3/q=0.5``."""
        out = [f"count/{e}" for e in ELEMENTS.values()] if self.counts else []
        if self.exact_scales:
            for a, b in channel_pairs(len(self.channels), self.cross_channels):
                pair = self.channels[a] if a == b else f"{self.channels[a]}×{self.channels[b]}"
                out += [f"{pair}/order0/q=2"]
                out += [f"{pair}/σ={s:g}/l={l}/q=2" for s in self.exact_scales for l in range(self.exact_L + 1)]
        out += [f"{c}/order0/q=3" if s == 0 else f"{c}/σ={s:g}/l=0/q=3" for c in self.channels for s in self.cubic_scales]
        if not self.grid:
            return out
        qs = [f"q={q:g}" for q in self.integral_powers]
        paths = [f"j={j}" for j in range(self.J + 1)]
        if self.max_order == 2:
            paths += [f"j1={a},j2={b}" for a in range(self.J + 1) for b in range(a + 1, self.J + 1)]
        for c in self.channels:
            out += [f"{c}/order0/{q}" for q in qs] if self.grid_order0 else []
            out += [f"{c}/{p}/l={l}/{q}" for p in paths for l in range(self.L + 1) for q in qs]
        return out

    def parameters(self) -> dict:
        """Every parameter that changes the features (the cache key's part besides the data)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("batch_size", "device", "_scattering")}
        for key in ("shape", "integral_powers", "channels", "exact_scales", "cubic_scales"):
            out[key] = list(out[key])
        out["version"] = FEATURES_VERSION
        return out

    def place(self, positions: torch.Tensor, charges: torch.Tensor) -> torch.Tensor:
        """Positions as put on the grid: aligned on principal axes (``align``) or centred on the atoms' centroid."""
        if self.align:
            return align_principal_axes(positions, charges)
        positions = torch.as_tensor(positions, dtype=torch.float64)
        mask = (torch.as_tensor(charges) > 0).to(torch.float64)[..., None]
        centre = (positions * mask).sum(1, keepdim=True) / mask.sum(1, keepdim=True).clamp_min(1)
        return (positions - centre) * mask

    def check(self, data: QM9, rows: np.ndarray | None = None) -> None:
        """Raise ``ValueError("grid: molecule …")`` if a molecule at ``rows`` (default all) does not fit (nothing to
        check without ``grid``)."""
        if not self.grid:
            return
        rows = np.arange(len(data)) if rows is None else np.asarray(rows)
        for start in range(0, len(rows), 8192):
            part = rows[start : start + 8192]
            z = torch.from_numpy(data.charges[part])
            check_fits(self.place(torch.from_numpy(data.positions[part]), z), z, self.shape, self.spacing,
                       self.margin, names=[f"#{i}" for i in data.index[part]])

    @torch.no_grad()
    def transform(self, charges: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Features of one batch: ``charges (B, A)`` int, ``positions (B, A, 3)`` Å → ``(B, F)`` float64 (CPU).
        No fit check (see :meth:`check`)."""
        device = torch.device(self.device)
        z = torch.as_tensor(charges).long()
        weights = charge_channels(z, self.channels)
        parts = [element_counts(z)] if self.counts else []
        exact = torch.as_tensor(positions, dtype=torch.float64).to(device), weights.to(device)
        if self.exact_scales:
            order0 = pair_energy_invariants(*exact, self.sigma_density, [0.0], 0, self.cross_channels)[..., 0]  # ∫ x_c x_c'
            first = pair_energy_invariants(*exact, self.sigma_density, self.exact_scales, self.exact_L, self.cross_channels)
            parts.append(torch.cat([order0, first.flatten(2)], -1).flatten(1).cpu())
        if self.cubic_scales:
            parts.append(cubic_invariants(*exact, self.sigma_density, self.cubic_scales).flatten(1).cpu())
        if self.grid:
            parts.append(self._grid_features(z, positions, weights))
        return torch.cat(parts, 1)

    def _grid_features(self, z: torch.Tensor, positions: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The grid's invariants of one batch, ``(B, C · (P + K(L+1)P))`` float64 on the CPU (P without ``grid_order0``)."""
        device = torch.device(self.device)
        placed = self.place(positions, z)
        hat = density_fourier(placed.to(device), weights.to(device), self.shape, self.spacing, self.sigma_density)
        B, C = hat.shape[:2]
        complex_dtype = torch.complex64 if self.dtype == "float32" else torch.complex128
        hat = hat.to(complex_dtype)
        volume = self.spacing**3
        # the scattering sees the density in its own units: voxel sums of the spectrum of x
        S = self.scattering.scattering_fourier(hat.reshape(B * C, *hat.shape[2:]))  # (B*C, K, L+1, P)
        out = S.reshape(B, C, -1)
        if self.grid_order0:
            x = torch.fft.irfftn(hat, s=self.shape, dim=(-3, -2, -1)).clamp_min(0)  # (B, C, M, N, O), e/Å³
            order0 = torch.stack([x.flatten(2).pow(q).sum(-1) for q in self.integral_powers], -1)  # (B, C, P)
            out = torch.cat([order0, out], -1)
        out = out * volume  # (B, C, P + K(L+1)P)
        return out.reshape(B, -1).double().cpu()

    # -- batches and cache ---------------------------------------------------------------------------------
    def _key(self, data: QM9) -> str:
        h = hashlib.sha256(json.dumps(self.parameters(), sort_keys=True).encode())
        for array in (data.index, data.charges, data.positions):
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()[:20]

    def compute(
        self,
        data: QM9,
        rows: np.ndarray | None = None,
        cache_dir: str | Path | None = None,
        progress: bool = True,
        description: str = "scattering features",
    ) -> np.ndarray:
        """Features of the molecules ``data.subset(rows)`` (default: all), ``(len(rows), F)`` float64.

        All requested molecules are checked to fit the grid before any is computed (ValueError ``grid: …``).
        With ``cache_dir``, rows computed earlier for the same parameters and dataset are read back and the
        new ones are written as they are computed.
        """
        from tqdm.auto import tqdm

        rows = np.arange(len(data)) if rows is None else np.asarray(rows, dtype=np.int64)
        self.check(data, rows)
        n_features = len(self.names)
        if cache_dir is not None:
            folder = Path(cache_dir) / f"scattering-{self._key(data)}"
            folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(folder / "parameters.json", json.dumps(self.parameters(), indent=1), key="data.cache_dir")
            cache = FeatureCache(folder, len(data), n_features)  # verified block by block; failing blocks recomputed
            todo = _ordered_unique(rows[~cache.done[rows]])
        else:
            cache, todo = None, _ordered_unique(rows)
            results = {}
        wall, cpu = time.perf_counter(), time.process_time()
        bar = tqdm(total=len(todo), desc=description, unit="mol", disable=not progress or len(todo) == 0)
        for start in range(0, len(todo), int(self.batch_size)):
            batch = todo[start : start + int(self.batch_size)]
            values = self.transform(torch.from_numpy(data.charges[batch]), torch.from_numpy(data.positions[batch])).numpy()
            if cache is not None:
                cache.write(batch, values)
                if (start // int(self.batch_size)) % 20 == 0 or start + len(batch) >= len(todo):
                    cache.flush()
            else:
                results.update(zip(batch.tolist(), values))
            bar.update(len(batch))
        bar.close()
        #: the cost of the rows computed by the last call: molecules, wall and process CPU seconds
        self.last_timing = {"molecules": int(len(todo)), "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
        if cache is not None:
            cache.flush()
            _add_timing(folder / "timing.json", self.last_timing)
            return np.asarray(cache.table[rows], dtype=np.float64)
        return np.stack([results[int(r)] for r in rows]) if len(rows) else np.zeros((0, n_features))

