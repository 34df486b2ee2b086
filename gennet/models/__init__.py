"""Models wiring the fixed transforms and the sparse layers (pure PyTorch)."""

from .generator import CodeStatistics, SparseInverseGenerator

__all__ = ["CodeStatistics", "SparseInverseGenerator"]
