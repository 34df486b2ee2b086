"""Rotation stability of a fitted energy model: the spread of the predicted energy of molecules turned by random
rotations (kcal/mol). An invariant representation gives 0; a grid's discretization (or an alignment that flips)
gives an error floor that no amount of training removes, so it is reported beside the test error."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

__all__ = ["random_rotations", "rotation_spread"]


def random_rotations(count: int, seed: int = 0) -> torch.Tensor:
    """``(count, 3, 3)`` float64 rotations drawn uniformly (QR of Gaussian matrices, determinant +1)."""
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(count, 3, 3, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[:, None, :]
    flip = torch.det(q) < 0
    q[flip, :, 0] *= -1
    return q


def rotation_spread(
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    charges: np.ndarray,
    positions: np.ndarray,
    rotations: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Predict the energy of each molecule under ``rotations`` random rotations (about its atoms' centroid).

    Args:
        predict: ``(charges (n, A), positions (n, A, 3) Å) → (n,)`` energies (features and model together).
        charges: ``(n, A)`` int, 0 = padding; positions: ``(n, A, 3)`` Å.
        rotations: how many rotations (≥ 2); seed: their generator's seed.
    Returns:
        ``{"std_mean": …, "std_max": …, "range_max": …}`` in the units of ``predict`` (kcal/mol): the standard
        deviation over rotations averaged and maximized over the molecules, and the largest max − min.
    Raises:
        ValueError: fewer than 2 rotations.
    """
    if rotations < 2:
        raise ValueError(f"rotations: at least 2, got {rotations}")
    charges = np.asarray(charges)
    positions = np.asarray(positions, dtype=np.float64)
    mask = (charges > 0)[..., None]
    centre = (positions * mask).sum(1, keepdims=True) / mask.sum(1, keepdims=True).clip(min=1)
    centred = (positions - centre) * mask
    predictions = np.stack([predict(charges, (centred @ R.numpy().T) * mask) for R in random_rotations(rotations, seed)])
    std = predictions.std(0)
    return {"std_mean": float(std.mean()), "std_max": float(std.max()),
            "range_max": float((predictions.max(0) - predictions.min(0)).max())}
