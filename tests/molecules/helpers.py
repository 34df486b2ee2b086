"""Shared pieces of the molecule tests: real QM9 rows (from the installed qm9pack's CSV) and kymatio's 3D
reference loaded despite the SciPy it predates."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gennet.molecules.qm9 import qm9_csv_files


def write_qm9_head(folder: Path, rows: int = 40) -> list[Path]:
    """The CSV header and the first ``rows`` molecules of each qm9pack part file, copied into ``folder``
    (real QM9 rows, in the package's format). Returns the three paths."""
    out = []
    folder.mkdir(parents=True, exist_ok=True)
    for path in qm9_csv_files():
        with open(path) as source:
            lines = [next(source) for _ in range(rows + 1)]
        target = folder / path.name
        target.write_text("".join(lines))
        out.append(target)
    return out


def kymatio_harmonic_scattering():
    """kymatio 0.3.0's ``HarmonicScatteringTorch3D``. Its filter bank imports ``scipy.special.sph_harm``, removed
    in SciPy 1.17 in favour of ``sph_harm_y(n, m, polar, azimuth)``; when missing, the old name is defined from
    the new one (argument order ``sph_harm(m, n, azimuth, polar)``) before importing kymatio."""
    import scipy.special

    if not hasattr(scipy.special, "sph_harm"):
        scipy.special.sph_harm = lambda m, n, azimuth, polar: scipy.special.sph_harm_y(n, m, polar, azimuth)
    from kymatio.scattering3d.frontend.torch_frontend import HarmonicScatteringTorch3D

    return HarmonicScatteringTorch3D


def rotation(seed: int) -> np.ndarray:
    """A random 3×3 rotation (QR of a Gaussian matrix, determinant +1)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q
