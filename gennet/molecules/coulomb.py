"""The Coulomb matrix and its sorted eigenvalues (Rupp, Tkatchenko, Müller, von Lilienfeld, Phys. Rev. Lett.
108, 058301, 2012, eq. 1): the classic baseline descriptor of molecular energies.

``M_ii = ½ Z_i^2.4`` (a fit of the free atoms' energies) and ``M_ij = Z_i Z_j / |R_i − R_j|`` (Coulomb
repulsion of the nuclei, distances in Bohr). The descriptor is the spectrum of ``M``, invariant to
translations, rotations and atom orderings, zero-padded to the largest molecule and sorted by decreasing
absolute value (so padding zeros come last whatever the signs).
"""

from __future__ import annotations

import torch

__all__ = ["BOHR_PER_ANGSTROM", "coulomb_matrix", "coulomb_eigenvalues"]

#: 1 Å in Bohr radii.
BOHR_PER_ANGSTROM = 1.0 / 0.529177210903


def coulomb_matrix(charges: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Coulomb matrices of padded molecules.

    Args:
        charges: ``(B, A)`` atomic numbers, 0 for padding.
        positions: ``(B, A, 3)`` Å.
    Returns:
        ``(B, A, A)`` float64, Hartree-like units (charges², 1/Bohr); rows and columns of padding are 0.
    """
    z = torch.as_tensor(charges).to(torch.float64)
    r = torch.as_tensor(positions, dtype=torch.float64) * BOHR_PER_ANGSTROM
    distance = torch.cdist(r, r)
    eye = torch.eye(z.shape[-1], dtype=torch.bool, device=z.device)
    off = z[..., :, None] * z[..., None, :] / distance.masked_fill(distance == 0, 1.0)  # 0 apart: the diagonal, padding
    off = off.masked_fill(eye, 0.0)
    diag = 0.5 * z.pow(2.4)
    return off + torch.diag_embed(diag)


def coulomb_eigenvalues(charges: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """The sorted eigenvalue descriptor: ``(B, A)`` float64, by decreasing ``|λ|`` (padding gives zeros)."""
    values = torch.linalg.eigvalsh(coulomb_matrix(charges, positions))
    order = values.abs().argsort(-1, descending=True)
    return values.gather(-1, order)
