"""The field's descriptors of molecules, computed by their maintained packages, to place the scattering
regression on the field's learning curves at equal N (optional extras, imported when used:
``pip install -e ".[chem]"``).

- ``bob``: Bag of Bonds (Hansen, Biegler, Ramakrishnan, Pronobis, von Lilienfeld, Müller & Tkatchenko, J. Phys.
  Chem. Lett. 6, 2326, 2015): the Coulomb matrix's entries grouped by element pair, each bag sorted — qmllib.
- ``slatm``: the global Spectrum of London and Axilrod–Teller–Muto potentials (Huang & von Lilienfeld, Nat. Chem.
  12, 945, 2020; arXiv:1707.04146): one-, two- and three-body distributions of the elements — qmllib.
- ``soap``: Smooth Overlap of Atomic Positions averaged over the atoms (Bartók, Kondor & Csányi, Phys. Rev. B 87,
  184115, 2013; De, Bartók, Csányi & Ceriotti, PCCP 18, 13754, 2016) — dscribe.
- ``coulomb``: the sorted Coulomb-matrix eigenvalues (Rupp et al. 2012), ours (:mod:`.coulomb`).

Each returns ``(n, D)`` float64 for padded molecules (``charges (n, A)``, 0 = padding; ``positions (n, A, 3)`` Å);
the sizes that fix ``D`` (largest bags, many-body types) come from ``reference_charges`` — pass the whole dataset's
charges so that every subset gets the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import ConfigError
from .coulomb import coulomb_eigenvalues

__all__ = ["DESCRIPTORS", "bag_of_bonds", "compute_descriptor", "require", "slatm", "slatm_types", "soap"]

#: Baseline descriptors and the package each needs.
DESCRIPTORS = {"coulomb": None, "bob": "qmllib", "slatm": "qmllib", "soap": "dscribe"}

_ELEMENTS = (1, 6, 7, 8, 9)
_SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}


def require(descriptor: str) -> None:
    """Raise ``ConfigError("baselines", …)`` (one line) when ``descriptor`` is unknown or its package is missing."""
    if descriptor not in DESCRIPTORS:
        raise ConfigError("baselines", f"unknown descriptor {descriptor!r}; choose from {list(DESCRIPTORS)}")
    package = DESCRIPTORS[descriptor]
    if package is None:
        return
    import importlib.util

    if importlib.util.find_spec(package) is None:
        raise ConfigError("baselines", f'{descriptor} needs {package}: pip install -e ".[chem]" (or pip install {package})')


def _molecules(charges: np.ndarray, positions: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    charges, positions = np.asarray(charges), np.asarray(positions, dtype=np.float64)
    out = []
    for z, r in zip(charges, positions):
        keep = z > 0
        out.append((z[keep].astype(np.int64), np.ascontiguousarray(r[keep])))
    return out


def bag_of_bonds(charges: np.ndarray, positions: np.ndarray, reference_charges: np.ndarray | None = None) -> np.ndarray:
    """Bag of Bonds, ``(n, D)``: bag sizes from the largest count of each element in ``reference_charges``
    (default: these molecules)."""
    require("bob")
    from qmllib.representations import generate_bob

    reference = np.asarray(charges if reference_charges is None else reference_charges)
    asize = {_SYMBOLS[e]: max(int((reference == e).sum(1).max()), 1) for e in _ELEMENTS}
    size = int((reference > 0).sum(1).max())
    return np.stack([generate_bob(z, r, atomtypes=np.array(_ELEMENTS), size=size, asize=asize)
                     for z, r in _molecules(charges, positions)])


def slatm_types(reference_charges: np.ndarray) -> list:
    """SLATM's many-body types (qmllib ``get_slatm_mbtypes``): from the elements and their largest counts."""
    require("slatm")
    from qmllib.representations import get_slatm_mbtypes

    reference = np.asarray(reference_charges)
    return get_slatm_mbtypes([z[z > 0].astype(np.int64) for z in reference])


def slatm(charges: np.ndarray, positions: np.ndarray, mbtypes: list | None = None) -> np.ndarray:
    """Global SLATM, ``(n, D)`` with qmllib's default widths and grids; ``mbtypes`` from :func:`slatm_types`
    (default: of these molecules)."""
    require("slatm")
    from qmllib.representations import generate_slatm

    mbtypes = slatm_types(charges) if mbtypes is None else mbtypes
    return np.stack([generate_slatm(z, r, mbtypes) for z, r in _molecules(charges, positions)])


def soap(charges: np.ndarray, positions: np.ndarray, r_cut: float = 5.0, n_max: int = 6, l_max: int = 4) -> np.ndarray:
    """SOAP power spectrum averaged over the atoms (dscribe, ``average="inner"``), ``(n, D)``."""
    require("soap")
    from ase import Atoms
    from dscribe.descriptors import SOAP

    descriptor = SOAP(species=list(_ELEMENTS), r_cut=r_cut, n_max=n_max, l_max=l_max, average="inner", periodic=False)
    atoms = [Atoms(numbers=z, positions=r) for z, r in _molecules(charges, positions)]
    return np.asarray(descriptor.create(atoms, n_jobs=1), dtype=np.float64).reshape(len(atoms), -1)


def compute_descriptor(name: str, charges: np.ndarray, positions: np.ndarray,
                       reference_charges: np.ndarray | None = None, batch: int = 2048,
                       progress: bool = True) -> np.ndarray:
    """The descriptor ``name`` (:data:`DESCRIPTORS`) of padded molecules, in batches with a progress bar.

    Raises:
        ConfigError: ``baselines`` — an unknown name or a missing package.
    """
    from tqdm.auto import tqdm

    require(name)
    types = slatm_types(charges if reference_charges is None else reference_charges) if name == "slatm" else None
    functions = {
        "coulomb": lambda z, r: coulomb_eigenvalues(torch.from_numpy(np.asarray(z)), torch.from_numpy(np.asarray(r))).numpy(),
        "bob": lambda z, r: bag_of_bonds(z, r, reference_charges),
        "slatm": lambda z, r: slatm(z, r, types),
        "soap": soap,
    }
    parts: Sequence[np.ndarray] = []
    for start in tqdm(range(0, len(charges), batch), desc=name, disable=not progress or len(charges) <= batch):
        parts.append(functions[name](charges[start : start + batch], positions[start : start + batch]))
    return np.concatenate(parts) if parts else np.zeros((0, 0))
