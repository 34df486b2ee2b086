"""Contraction across depth: the effective dimension of a stage's features and how tight the classes are in it.

Jacobsen, Smeulders & Oyallon (ICLR 2018, §4.2) observe that an i-RevNet, which loses no information, still
*contracts* its representation onto a low-dimensional, discriminative subspace with depth: the number of principal
components that explain 90% of the variance falls, and the classes separate. Seeds 000 and 004: "typical CNN
exhibits a progressive contraction & separation, w.r.t. the depth". Both measures take the stage features of
:func:`gennet.analysis.stage_features` (averaged over space), ``(N, D)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["pca_dimension", "distance_ratio"]


def pca_dimension(features: Tensor, fraction: float = 0.9) -> int:
    """The number of principal components that explain ``fraction`` of the variance of ``features`` ``(N, D)``:
    the smallest ``d`` with ``Σ_{i≤d} λᵢ ≥ fraction · Σ λᵢ`` (eigenvalues of the covariance, largest first; float64).

    Raises:
        ValueError: ``fraction`` outside ``(0, 1]``, fewer than 2 samples, or features with no variance.
    """
    if not 0 < fraction <= 1 or features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need (N >= 2, D) features and a fraction in (0, 1], got {tuple(features.shape)}, {fraction}")
    centred = features.double() - features.double().mean(0)
    variances = torch.linalg.svdvals(centred).pow(2)
    total = variances.sum()
    if not total > 0:
        raise ValueError("the features have no variance")
    cumulative = variances.cumsum(0) / total
    return int((cumulative < fraction - 1e-12).sum()) + 1


def distance_ratio(features: Tensor, labels: Tensor) -> float:
    """Mean Euclidean distance between two samples of the same class over the mean distance between two samples of
    different classes (pairs of distinct samples, each counted once; float64). Scale-free; near 1 when the classes
    overlap, small when each class is contracted relative to the gaps between classes.

    Raises:
        ValueError: fewer than 2 classes, or no class with two samples.
    """
    f = features.double()
    distances = torch.cdist(f, f)
    same = labels[:, None] == labels[None, :]
    upper = torch.triu(torch.ones_like(same), diagonal=1)
    intra, inter = distances[same & upper], distances[~same & upper]
    if intra.numel() == 0 or inter.numel() == 0:
        raise ValueError("need at least two classes and a class with two samples")
    return float(intra.mean() / inter.mean())
