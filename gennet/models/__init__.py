"""Models wiring the fixed transforms and the sparse layers (pure PyTorch)."""

from .classifier_head import ClassifierHead
from .cnn_generator import CNNGenerator
from .generator import EmbeddingInverse, SparseInverseGenerator
from .hybrid_scatnet import HybridScatteringNet
from .irevnet import IRevNet
from .resnet import ResNet18
from .scatnet import ScatteringClassifier
from .scattering_features import ScatteringFeatures
from .sle import SharedLocalEncoder
from .sparse_scatnet import SparseScatteringClassifier
from .standardization import Standardization

__all__ = [
    "CNNGenerator",
    "ClassifierHead",
    "EmbeddingInverse",
    "HybridScatteringNet",
    "IRevNet",
    "ResNet18",
    "ScatteringClassifier",
    "ScatteringFeatures",
    "SharedLocalEncoder",
    "SparseInverseGenerator",
    "SparseScatteringClassifier",
    "Standardization",
]
