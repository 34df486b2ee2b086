"""Surrogate electronic densities of molecules on a 3D grid (Eickenberg et al., J. Chem. Phys. 148, 241732,
2018, §II.B; the seed's Dirac density ``x(u) = Σ_k z_k δ(u − r_k)`` smoothed by a Gaussian of width σ).

Four charge channels, as in the authors' code (github louity/pyscatharm, ``examples/qm.py``): ``full`` (z_k =
atomic number), ``valence`` (valence electrons), ``core`` (atomic number − valence; 0 for hydrogen), so
``full = valence + core``, and ``bond_valence`` (the number of covalent bonds an atom forms: H 1, C 4, N 3, O 2, F 1).

The density is built in the Fourier domain, in closed form: the DFT of ``x(u) = Σ_k z_k g_σ(u − r_k)``
(``g_σ`` the normalized Gaussian, e/Å³) sampled at the voxels ``u_n = (n − shape/2) h`` is

    X[ω] = h⁻³ Σ_k z_k exp(−i ω·(r_k − u_0)) exp(−σ²|ω|²/2),    ω = 2π k / (shape · h)  (rad/Å),

up to the Gaussian's spectrum beyond the Nyquist frequency, ``~exp(−π²σ²/2h²)`` of the peak (σ = h: 7·10⁻³;
σ = 2h: 3·10⁻⁹; the scattering's wavelets damp it further). The exponentials factor over the three axes, so
the sum over atoms is one batched matrix product, with no splatting on the grid and no forward FFT.

Grids are tori: a molecule must stay clear of its periodic copies; :func:`check_fits` says which does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "BOND_VALENCE",
    "CHANNELS",
    "VALENCE_ELECTRONS",
    "align_principal_axes",
    "charge_channels",
    "check_fits",
    "density",
    "density_fourier",
]

#: Valence electrons of the elements of QM9 (by atomic number).
VALENCE_ELECTRONS = {1: 1, 6: 4, 7: 5, 8: 6, 9: 7}

#: Covalent bonds an atom forms (its valence in the chemist's sense; the authors' "atom valence" channel).
BOND_VALENCE = {1: 1, 6: 4, 7: 3, 8: 2, 9: 1}

#: The charge channels (Eickenberg et al. 2018, §II.B; ``bond_valence`` from the authors' code).
CHANNELS = ("full", "valence", "core", "bond_valence")


def charge_channels(charges: torch.Tensor, channels: Sequence[str] = CHANNELS) -> torch.Tensor:
    """Charges per atom and channel.

    Args:
        charges: ``(B, A)`` integer atomic numbers, 0 for padding.
        channels: names from :data:`CHANNELS`.
    Returns:
        ``(B, A, C)`` float64 (0 on padding).
    Raises:
        ValueError: an unknown channel, or an element without a valence count (not H, C, N, O, F).
    """
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown or not channels:
        raise ValueError(f"channels must be a non-empty list from {list(CHANNELS)}, got {list(channels)}")
    charges = torch.as_tensor(charges).long()
    table = torch.zeros(max(VALENCE_ELECTRONS) + 1, dtype=torch.float64)
    bonds = torch.zeros_like(table)
    for z, v in VALENCE_ELECTRONS.items():
        table[z], bonds[z] = v, BOND_VALENCE[z]
    known = torch.tensor([0, *VALENCE_ELECTRONS])
    bad = charges[~torch.isin(charges, known)]
    if bad.numel():
        raise ValueError(f"atomic number {int(bad[0])} has no valence count (elements H, C, N, O, F)")
    full = charges.double()
    valence = table[charges]
    parts = {"full": full, "valence": valence, "core": full - valence, "bond_valence": bonds[charges]}
    return torch.stack([parts[c] for c in channels], -1)


def align_principal_axes(positions: torch.Tensor, charges: torch.Tensor) -> torch.Tensor:
    """Centre each molecule on the centroid of its atoms and rotate it onto its principal axes (largest spread
    along axis 0). A rigid motion (possibly with a reflection): the scattering invariants do not change (up to
    the grid's discretization); it only lets a box elongated like molecules hold them all.

    Args:
        positions: ``(B, A, 3)`` Å; charges: ``(B, A)``, 0 = padding.
    Returns:
        ``(B, A, 3)`` float64 Å, padding atoms at 0.
    """
    positions = torch.as_tensor(positions, dtype=torch.float64)
    mask = (torch.as_tensor(charges) > 0).to(torch.float64)[..., None]
    count = mask.sum(1, keepdim=True).clamp_min(1)
    centred = (positions - (positions * mask).sum(1, keepdim=True) / count) * mask
    covariance = centred.transpose(1, 2) @ centred
    _, vectors = torch.linalg.eigh(covariance)  # ascending eigenvalues
    return (centred @ vectors.flip(-1)) * mask


def check_fits(
    positions: torch.Tensor,
    charges: torch.Tensor,
    shape: Sequence[int],
    spacing: float,
    margin: float,
    names: Sequence | None = None,
) -> None:
    """Raise if a molecule's extent plus ``margin`` exceeds the box along an axis.

    Args:
        positions: ``(B, A, 3)`` Å (as placed on the grid); charges: ``(B, A)``, 0 = padding.
        shape: ``(M, N, O)`` voxels; spacing: Å per voxel; margin: Å of clearance between a molecule and its
            periodic copy (a few times the widest wavelet).
        names: how to name molecule b in the message (default: its row).
    Raises:
        ValueError: ``grid: molecule NAME spans E Å along axis a, the grid holds S Å with a margin of M Å``.
    """
    positions = torch.as_tensor(positions, dtype=torch.float64)
    mask = torch.as_tensor(charges) > 0
    big = torch.finfo(torch.float64).max
    upper = positions.masked_fill(~mask[..., None], -big).amax(1)
    lower = positions.masked_fill(~mask[..., None], big).amin(1)
    extent = upper - lower  # (B, 3)
    box = torch.tensor([s * spacing for s in shape], dtype=torch.float64)
    over = extent + margin > box
    if over.any():
        b, axis = (int(i) for i in over.nonzero()[0])
        name = names[b] if names is not None else b
        raise ValueError(
            f"grid: molecule {name} spans {extent[b, axis]:.2f} Å along axis {axis}, the grid holds "
            f"{box[axis]:.2f} Å ({shape[axis]} voxels of {spacing} Å) and needs a margin of {margin:.2f} Å; "
            "enlarge the grid or the spacing"
        )


def _phases(coordinate: torch.Tensor, frequencies: torch.Tensor, sigma: float) -> torch.Tensor:
    """``exp(−i ω c) exp(−σ² ω² / 2)``: ``(B, A)`` × ``(F,)`` → ``(B, A, F)`` complex128."""
    angle = coordinate[..., None] * frequencies
    return torch.polar(torch.exp(-0.5 * sigma**2 * frequencies**2).expand_as(angle), -angle)


def density_fourier(
    positions: torch.Tensor,
    weights: torch.Tensor,
    shape: Sequence[int],
    spacing: float,
    sigma: float,
) -> torch.Tensor:
    """``rfftn`` of the sampled density, in closed form (see the module docstring).

    Args:
        positions: ``(B, A, 3)`` Å, the grid's centre at the origin (voxel ``n`` sits at ``(n − shape/2) h``).
        weights: ``(B, A, C)`` charges per channel (0 on padding).
        shape: ``(M, N, O)`` voxels; spacing: ``h``, Å per voxel; sigma: Gaussian width, Å (≥ spacing advised).
    Returns:
        ``(B, C, M, N, O // 2 + 1)`` complex128 on ``positions.device``; ``irfftn`` of it is the density in e/Å³.
    """
    positions = torch.as_tensor(positions, dtype=torch.float64)
    weights = torch.as_tensor(weights, dtype=torch.float64, device=positions.device)
    M, N, O = (int(s) for s in shape)
    B, A, C = weights.shape
    device = positions.device
    axes = []
    for d, (size, rfft) in enumerate(((M, False), (N, False), (O, True))):
        k = torch.fft.rfftfreq(size, d=spacing, dtype=torch.float64, device=device) if rfft else torch.fft.fftfreq(size, d=spacing, dtype=torch.float64, device=device)
        w = 2 * math.pi * k
        # shift: voxel 0 sits at -size/2 * h, so phase uses r - u_0 = r + size/2 * h
        axes.append(_phases(positions[..., d] + size / 2 * spacing, w, sigma))
    e0, e1, e2 = axes  # (B, A, M), (B, A, N), (B, A, O')
    left = (weights.to(torch.complex128)[..., :, None, None] * (e0[..., None, :, None] * e1[..., None, None, :]))  # (B, A, C, M, N)
    out = left.reshape(B, A, C * M * N).transpose(1, 2) @ e2  # (B, C*M*N, O')
    return out.reshape(B, C, M, N, -1) / spacing**3


def density(
    positions: torch.Tensor,
    weights: torch.Tensor,
    shape: Sequence[int],
    spacing: float,
    sigma: float,
) -> torch.Tensor:
    """The sampled density ``Σ_k w_k g_σ(u_n − r_k)`` on the torus, ``(B, C, M, N, O)`` float64, e/Å³
    (arguments as :func:`density_fourier`)."""
    return torch.fft.irfftn(density_fourier(positions, weights, shape, spacing, sigma), s=tuple(shape), dim=(-3, -2, -1))
