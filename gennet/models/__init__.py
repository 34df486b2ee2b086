"""Models wiring the fixed transforms and the sparse layers (pure PyTorch)."""

from .generator import SparseInverseGenerator

__all__ = ["SparseInverseGenerator"]
