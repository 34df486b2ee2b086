"""Molecules (a core package, pure PyTorch): surrogate electronic densities on 3D grids, solid harmonic wavelet
scattering invariant to translations and rotations (on a grid, and without one where Parseval gives them in closed
form), regressors with exact leave-one-out, the Coulomb-matrix baseline and the field's descriptors, and QM9
(Eickenberg et al., J. Chem. Phys. 148, 241732, 2018; Rupp et al., PRL 108, 058301, 2012). qm9pack (the data),
qmllib and dscribe (the baselines) are optional extras, imported only where used."""

from .coulomb import coulomb_eigenvalues, coulomb_matrix
from .density import (BOND_VALENCE, CHANNELS, VALENCE_ELECTRONS, align_principal_axes, charge_channels, check_fits, density,
                      density_fourier)
from .exact_invariants import cubic_invariants, pair_energy_invariants
from .features import FEATURES_VERSION, ScatteringFeatures, element_counts
from .harmonic_scattering import HarmonicScattering3D, solid_harmonic_filters
from .qm9 import QM9, atomization_energy, load_qm9, qm9_csv_files
from .solid_harmonics import real_solid_harmonics
from .split import Split, make_split
from .stability import rotation_spread

__all__ = [
    "BOND_VALENCE",
    "CHANNELS",
    "FEATURES_VERSION",
    "QM9",
    "VALENCE_ELECTRONS",
    "HarmonicScattering3D",
    "ScatteringFeatures",
    "Split",
    "align_principal_axes",
    "atomization_energy",
    "charge_channels",
    "check_fits",
    "coulomb_eigenvalues",
    "coulomb_matrix",
    "cubic_invariants",
    "density",
    "density_fourier",
    "element_counts",
    "load_qm9",
    "make_split",
    "pair_energy_invariants",
    "qm9_csv_files",
    "real_solid_harmonics",
    "rotation_spread",
    "solid_harmonic_filters",
]
