"""Models wiring the fixed transforms and the sparse layers (pure PyTorch)."""

from .classifier_head import ClassifierHead
from .cnn_generator import CNNGenerator
from .conditional_gaussian import ConditionalGaussianEmbedding
from .embedding_inverse import EmbeddingInverse
from .gaussian_embedding import GaussianEmbedding
from .generator import SparseInverseGenerator
from .hybrid_scatnet import HybridScatteringNet
from .resnet import ResNet18
from .scatnet import ScatteringClassifier
from .scattering_features import ScatteringFeatures
from .sle import SharedLocalEncoder
from .sparse_scatnet import SparseScatteringClassifier
from .standardization import Standardization

__all__ = [
    "CNNGenerator",
    "ClassifierHead",
    "ConditionalGaussianEmbedding",
    "EmbeddingInverse",
    "GaussianEmbedding",
    "HybridScatteringNet",
    "ResNet18",
    "ScatteringClassifier",
    "ScatteringFeatures",
    "SharedLocalEncoder",
    "SparseInverseGenerator",
    "SparseScatteringClassifier",
    "Standardization",
]
