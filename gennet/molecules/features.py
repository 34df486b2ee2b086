"""Scattering features of molecules: densities (:mod:`.density`) → solid harmonic scattering invariants
(:class:`.HarmonicScattering3D`), in batches, with a progress bar and an on-disk cache.

Per charge channel (full, valence, core) the features are the order-0 integrals ``∫ x^q`` of the density and
the first- and second-order invariants ``∫ (U[j,l] x)^q``, ``∫ (U[j2,l] U[j1,l] x)^q`` (Eickenberg et al.,
J. Chem. Phys. 148, 241732, 2018, eqs. 9–11). Integrals are in physical units (sums over voxels × h³).

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
from .harmonic_scattering import HarmonicScattering3D
from .qm9 import QM9

__all__ = ["FEATURES_VERSION", "ScatteringFeatures"]

#: Bumped whenever the features' definition changes (part of the cache key).
FEATURES_VERSION = 1


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
        channels: charge channels from ``("full", "valence", "core")``.
        margin_sigmas: clearance required between a molecule and its periodic copy, in units of the widest
            smoothing ``sqrt(sigma_density² + (sigma_0 2^J)²)`` (:func:`check_fits`; :attr:`margin` in Å).
        subsample: coarse grids for the large scales (:class:`HarmonicScattering3D`), voxels, or None.
        align: place molecules on their principal axes (a rigid motion) before gridding.
        batch_size: molecules per batch.
        device: torch device of the computation ("cpu", "cuda:0", …).
        dtype: "float32" or "float64".
    Raises:
        ValueError: at construction, a parameter out of range.
    """

    shape: Sequence[int] = (32, 28, 24)
    spacing: float = 0.7
    sigma_density: float = 0.7
    sigma_0: float = 0.7
    J: int = 2
    L: int = 3
    max_order: int = 2
    integral_powers: Sequence[float] = (0.5, 1.0, 2.0, 3.0)
    channels: Sequence[str] = CHANNELS
    margin_sigmas: float = 3.5
    subsample: float | None = 1.6
    align: bool = True
    batch_size: int = 32
    device: str = "cpu"
    dtype: str = "float32"
    _scattering: HarmonicScattering3D | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        self.integral_powers = tuple(float(q) for q in self.integral_powers)
        self.channels = tuple(self.channels)
        if len(self.shape) != 3 or min(self.shape) < 4:
            raise ValueError(f"shape: expected three sizes >= 4, got {list(self.shape)}")
        for name in ("spacing", "sigma_density", "sigma_0"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)}")
        if not self.margin_sigmas >= 0:
            raise ValueError(f"margin_sigmas: must be >= 0, got {self.margin_sigmas}")
        if self.subsample is not None and not self.subsample > 0:
            raise ValueError(f"subsample: must be > 0 or null, got {self.subsample}")
        for name in ("J", "L"):
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
        qs = [f"q={q:g}" for q in self.integral_powers]
        paths = [f"j={j}" for j in range(self.J + 1)]
        if self.max_order == 2:
            paths += [f"j1={a},j2={b}" for a in range(self.J + 1) for b in range(a + 1, self.J + 1)]
        out = []
        for c in self.channels:
            out += [f"{c}/order0/{q}" for q in qs]
            out += [f"{c}/{p}/l={l}/{q}" for p in paths for l in range(self.L + 1) for q in qs]
        return out

    def parameters(self) -> dict:
        """Every parameter that changes the features (the cache key's part besides the data)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("batch_size", "device", "_scattering")}
        out["shape"], out["integral_powers"], out["channels"] = list(self.shape), list(self.integral_powers), list(self.channels)
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
        """Raise ``ValueError("grid: molecule …")`` if a molecule at ``rows`` (default all) does not fit."""
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
        placed = self.place(positions, z)
        hat = density_fourier(placed.to(device), weights.to(device), self.shape, self.spacing, self.sigma_density)
        B, C = hat.shape[:2]
        complex_dtype = torch.complex64 if self.dtype == "float32" else torch.complex128
        hat = hat.to(complex_dtype)
        volume = self.spacing**3
        x = torch.fft.irfftn(hat, s=self.shape, dim=(-3, -2, -1)).clamp_min(0)  # (B, C, M, N, O), e/Å³
        order0 = torch.stack([x.flatten(2).pow(q).sum(-1) for q in self.integral_powers], -1)  # (B, C, P)
        # the scattering sees the density in its own units: voxel sums of the spectrum of x
        S = self.scattering.scattering_fourier(hat.reshape(B * C, *hat.shape[2:]))  # (B*C, K, L+1, P)
        S = S.reshape(B, C, -1)
        out = torch.cat([order0, S], -1) * volume  # (B, C, P + K(L+1)P)
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

