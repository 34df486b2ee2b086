"""Models wiring the fixed transforms and the sparse layers (pure PyTorch)."""

from .classifier_head import ClassifierHead
from .generator import SparseInverseGenerator
from .scatnet import ScatteringClassifier
from .scattering_features import ScatteringFeatures
from .sparse_scatnet import SparseScatteringClassifier
from .standardization import Standardization

__all__ = [
    "ClassifierHead",
    "ScatteringClassifier",
    "ScatteringFeatures",
    "SparseInverseGenerator",
    "SparseScatteringClassifier",
    "Standardization",
]
