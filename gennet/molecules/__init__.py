"""Molecules (a core package, pure PyTorch): surrogate electronic densities on 3D grids, solid harmonic wavelet
scattering invariant to translations and rotations, the Coulomb-matrix baseline, and QM9 (Eickenberg et al.,
J. Chem. Phys. 148, 241732, 2018; Rupp et al., PRL 108, 058301, 2012). scikit-learn (regression) and qm9pack
(the data) are optional extras, imported only where used."""

from .coulomb import coulomb_eigenvalues, coulomb_matrix
from .density import CHANNELS, VALENCE_ELECTRONS, align_principal_axes, charge_channels, check_fits, density, density_fourier
from .features import FEATURES_VERSION, ScatteringFeatures
from .harmonic_scattering import HarmonicScattering3D, solid_harmonic_filters
from .qm9 import QM9, atomization_energy, load_qm9, qm9_csv_files
from .solid_harmonics import real_solid_harmonics
from .split import Split, make_split

__all__ = [
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
    "density",
    "density_fourier",
    "load_qm9",
    "make_split",
    "qm9_csv_files",
    "real_solid_harmonics",
    "solid_harmonic_filters",
]
