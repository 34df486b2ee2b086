"""QM9 (Ramakrishnan et al., Sci. Data 1, 140022, 2014) read from the CSV files of the ``qm9pack`` package.

130,831 organic molecules (C, H, O, N, F; at most 29 atoms, 9 heavy ones) with B3LYP/6-31G(2df,p) geometries
(Å) and energies (Hartree). ``qm9pack`` (an optional extra: ``pip install -e ".[chem]"``) bundles them as CSV;
its ``__init__`` imports the removed ``pkg_resources``, so the package is located with
:func:`importlib.util.find_spec` and never imported.

The atomization energy at 0 K is ``U0 − Σ_atoms U0(atom)`` with the atomic reference energies of the QM9
``atomref`` table (same level of theory), in kcal/mol (1 Hartree = 627.509474 kcal/mol).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..cache_record import file_digest, read_record, verify_file, warn_recompute, write_record
from ..files import atomic_path

__all__ = [
    "ATOMIC_NUMBERS",
    "ATOM_REFERENCE_U0",
    "HARTREE_TO_KCAL_MOL",
    "MAX_ATOMS",
    "QM9",
    "atomization_energy",
    "load_compact",
    "load_qm9",
    "qm9_csv_files",
    "save_compact",
]

#: Hartree → kcal/mol (the conversion of the QM9 atomref table).
HARTREE_TO_KCAL_MOL = 627.509474

#: Atomic numbers of the elements of QM9.
ATOMIC_NUMBERS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}

#: U0 (Hartree) of the isolated atoms at the level of theory of QM9 (the dataset's ``atomref`` table).
ATOM_REFERENCE_U0 = {1: -0.500273, 6: -37.846772, 7: -54.583861, 8: -75.064579, 9: -99.718730}

#: The largest number of atoms of a QM9 molecule.
MAX_ATOMS = 29

_CSV_NAMES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
_MISSING = 'the QM9 data needs the optional package qm9pack: pip install -e ".[chem]" (or pip install qm9pack)'


@dataclass(frozen=True)
class QM9:
    """Molecules padded to ``MAX_ATOMS`` atoms (``charges == 0`` marks padding).

    Attributes:
        index: ``(n,)`` int64, QM9's molecule number (1 … 133,885; 3,054 unconverged ones are absent).
        charges: ``(n, 29)`` int64 atomic numbers, 0 after the last atom.
        positions: ``(n, 29, 3)`` float64 coordinates in Å (0 after the last atom).
        u0: ``(n,)`` float64 internal energy at 0 K, Hartree.
        energy: ``(n,)`` float64 atomization energy at 0 K, kcal/mol (negative: binding).
    """

    index: np.ndarray
    charges: np.ndarray
    positions: np.ndarray
    u0: np.ndarray
    energy: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def subset(self, rows: np.ndarray) -> "QM9":
        """The molecules at ``rows`` (an int array of positions), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        return QM9(self.index[rows], self.charges[rows], self.positions[rows], self.u0[rows], self.energy[rows])

    @property
    def num_atoms(self) -> np.ndarray:
        """``(n,)`` int64 number of atoms of each molecule."""
        return (self.charges > 0).sum(1)


def qm9_csv_files() -> list[Path]:
    """The three QM9 CSV files of the installed ``qm9pack`` (located, not imported).

    Raises:
        ConfigError: ``data`` — qm9pack is not installed, or its data files are missing.
    """
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("data", _MISSING)
    root = Path(list(spec.submodule_search_locations)[0]) / "data"
    files = [root / name for name in _CSV_NAMES]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise ConfigError("data", f"qm9pack at {root.parent} lacks {', '.join(missing)}; reinstall it (pip install --force-reinstall qm9pack)")
    return files


def atomization_energy(charges: np.ndarray, u0: np.ndarray) -> np.ndarray:
    """``U0 − Σ_atoms U0(atom)`` in kcal/mol.

    Args:
        charges: ``(n, A)`` int atomic numbers (0 = padding) from H, C, N, O, F.
        u0: ``(n,)`` molecular U0 in Hartree.
    Returns:
        ``(n,)`` float64, kcal/mol.
    Raises:
        ValueError: an atomic number outside H, C, N, O, F.
    """
    table = np.zeros(10)
    for z, value in ATOM_REFERENCE_U0.items():
        table[z] = value
    charges = np.asarray(charges)
    bad = charges[(charges != 0) & ~np.isin(charges, list(ATOM_REFERENCE_U0))]
    if bad.size:
        raise ValueError(f"atomic number {int(bad[0])} is not one of QM9's elements (H, C, N, O, F)")
    return (np.asarray(u0, dtype=np.float64) - table[charges].sum(1)) * HARTREE_TO_KCAL_MOL


def _parse_row(row: dict, where: str) -> tuple[int, list[int], list[float], float]:
    """One CSV row → ``(index, charges, flat coordinates, U0)``; ValueError names the molecule."""
    try:
        elements = [e.strip().strip("'\"") for e in row["Elements"].strip("[] ").split(",")]
        charges = [ATOMIC_NUMBERS[e] for e in elements]
        coords = [float(c) for c in row["XYZ_Ang"].replace("[", "").replace("]", "").split(",")]
        count = int(row["N_atoms"])
        if not (len(charges) == count and len(coords) == 3 * count and 0 < count <= MAX_ATOMS):
            raise ValueError(f"{count} atoms, {len(charges)} elements, {len(coords)} coordinates")
        return int(row["Index"]), charges, coords, float(row["InternalEnergy_0K_au"])
    except (KeyError, ValueError) as error:
        raise ValueError(f"data: malformed molecule {where}: {error}") from None


def _read_csv(files: list[Path], limit: int | None = None) -> QM9:
    index, u0 = [], []
    charges, positions = [], []
    for path in files:
        with open(path, newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                if limit is not None and line - 2 >= limit:
                    break
                number, z, xyz, energy = _parse_row(row, f"{path.name}:{line}")
                pad = MAX_ATOMS - len(z)
                index.append(number)
                u0.append(energy)
                charges.append(z + [0] * pad)
                positions.append(xyz + [0.0] * (3 * pad))
    order = np.argsort(np.asarray(index), kind="stable")
    z = np.asarray(charges, dtype=np.int64)[order]
    u = np.asarray(u0, dtype=np.float64)[order]
    return QM9(
        index=np.asarray(index, dtype=np.int64)[order],
        charges=z,
        positions=np.asarray(positions, dtype=np.float64).reshape(-1, MAX_ATOMS, 3)[order],
        u0=u,
        energy=atomization_energy(z, u),
    )


def _fingerprint(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        stat = f.stat()
        h.update(f"{f.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def load_qm9(cache_dir: str | Path | None = None, files: list[Path] | None = None, limit: int | None = None) -> QM9:
    """All of QM9 (or the first ``limit`` molecules of each of the three files), sorted by molecule number.

    Parsing the 230 MB of CSV takes ~20 s; with ``cache_dir`` the arrays are kept in
    ``cache_dir/qm9_<fingerprint>.npz``, the fingerprint hashing the CSV files' paths, sizes and mtimes (a
    reinstalled package is re-read).

    Args:
        cache_dir: folder of the parsed copy (created), or None for no cache.
        files: the CSV files (default :func:`qm9_csv_files`).
        limit: read only the first ``limit`` rows of each file (a quick look; never cached).
    Raises:
        ConfigError: ``data`` — qm9pack missing.
        ValueError: ``data: malformed molecule FILE:LINE: …`` for a row that cannot be read.
    """
    files = qm9_csv_files() if files is None else [Path(f) for f in files]
    if limit is not None:
        return _read_csv(files, limit)
    cached = None
    if cache_dir is not None:
        cached = Path(cache_dir) / f"qm9_{_fingerprint(files)}.npz"
        if cached.exists():
            data = _read_cached(cached)
            if data is not None:
                return data
    data = _read_csv(files)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached, key="data.cache_dir") as temporary:  # concurrent runs never read half a file
            np.savez(temporary, **data.__dict__)
        size, sha256 = file_digest(cached)
        write_record(cached, {"bytes": size, "sha256": sha256, "molecules": len(data.index)})
    return data


def _read_cached(path: Path) -> QM9 | None:
    """The parsed copy at ``path`` if it proves itself (:mod:`gennet.cache_record`: the recorded bytes; arrays of the
    recorded number of molecules, integer charges and indices, finite floats), else ``None`` after one warning line."""
    record = read_record(path)
    reason = verify_file(path, record, {})
    if reason is None:
        try:
            with np.load(path, allow_pickle=False) as arrays:
                data = QM9(**{k: arrays[k] for k in ("index", "charges", "positions", "u0", "energy")})
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            reason = f"it cannot be read ({type(error).__name__})"
    if reason is None:
        n = record.get("molecules")
        shapes_ok = (data.index.shape == (n,) and data.charges.shape == (n, MAX_ATOMS) and data.positions.shape == (n, MAX_ATOMS, 3)
                     and data.u0.shape == (n,) and data.energy.shape == (n,))
        kinds_ok = data.index.dtype.kind == data.charges.dtype.kind == "i" and all(
            a.dtype.kind == "f" and np.isfinite(a).all() for a in (data.positions, data.u0, data.energy))
        if not (shapes_ok and kinds_ok):
            reason = f"its arrays are not {n} molecules of integer charges and finite coordinates and energies"
    if reason is not None:
        warn_recompute(path, reason)
        return None
    return data


def save_compact(data: QM9, path: str | Path) -> Path:
    """Write ``data`` as a compressed ``.npz`` (int8 charges, float32 positions, float64 energies; ~40 MB for
    all of QM9): a copy to carry where qm9pack (a 100 MB wheel) cannot be installed. Returns the path."""
    path = Path(path)
    with atomic_path(path) as temporary:
        np.savez_compressed(temporary, index=data.index, charges=data.charges.astype(np.int8),
                            positions=data.positions.astype(np.float32), u0=data.u0)
    return path


def load_compact(path: str | Path) -> QM9:
    """Read a file of :func:`save_compact` (energies recomputed from U0).

    Raises:
        ConfigError: ``data`` — the file is missing or lacks the arrays.
    """
    try:
        with np.load(path) as arrays:
            charges = arrays["charges"].astype(np.int64)
            u0 = arrays["u0"].astype(np.float64)
            return QM9(arrays["index"].astype(np.int64), charges, arrays["positions"].astype(np.float64), u0,
                       atomization_energy(charges, u0))
    except (OSError, KeyError, ValueError) as error:
        raise ConfigError("data", f"cannot read the compact QM9 file {path}: {error}") from None
