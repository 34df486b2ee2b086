"""Maximum-entropy models of stationary processes from one realization (DESIGN §10): phase-harmonic statistics,
scattering spectra, the Gaussian (random-phase) baseline, microcanonical synthesis, and validation metrics the model
does not impose (including the shapes of thresholded samples: :mod:`gennet.stationary.shapes`)."""

from .gaussian import gaussian_samples
from .catalogue import DEFAULT_SHIFTS, FAMILIES, Statistic, harmonics
from .joint import JointStatistics
from .scattering_spectra import ScatteringSpectra2D
from .statistics import PhaseHarmonicCovariance2D
from .synthesis import INITS, SynthesisResult, synthesize

__all__ = [
    "DEFAULT_SHIFTS",
    "FAMILIES",
    "INITS",
    "JointStatistics",
    "PhaseHarmonicCovariance2D",
    "ScatteringSpectra2D",
    "Statistic",
    "SynthesisResult",
    "gaussian_samples",
    "harmonics",
    "synthesize",
]
