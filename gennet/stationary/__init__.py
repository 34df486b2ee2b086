"""Maximum-entropy models of stationary processes from one realization (DESIGN §10): phase-harmonic statistics,
the Gaussian (random-phase) baseline, microcanonical synthesis, and validation metrics the model does not impose."""

from .gaussian import gaussian_samples
from .catalogue import DEFAULT_SHIFTS, FAMILIES, Statistic, harmonics
from .statistics import PhaseHarmonicCovariance2D
from .synthesis import INITS, SynthesisResult, synthesize

__all__ = [
    "DEFAULT_SHIFTS",
    "FAMILIES",
    "INITS",
    "PhaseHarmonicCovariance2D",
    "Statistic",
    "SynthesisResult",
    "gaussian_samples",
    "harmonics",
    "synthesize",
]
