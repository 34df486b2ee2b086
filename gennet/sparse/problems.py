"""Synthetic sparse-coding problems and their reference Lasso solutions (for tests and benchmarks).

The problem family of the homotopy-ISTA accuracy target: a Gaussian dictionary with unit-norm
columns, ``s``-sparse codes with N(0, 1) amplitudes (absolute values when ``positive``), additive
white noise at ``noise`` times the signal's RMS, and signals scaled to unit norm.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["random_lasso_problem", "sklearn_lasso"]


def random_lasso_problem(
    d: int, K: int, s: int, positive: bool, trials: int, noise: float, rng: np.random.Generator,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A (d, K), Y (trials, d))``: unit-norm Gaussian dictionary and unit-norm noisy ``s``-sparse signals."""
    A = rng.standard_normal((d, K))
    A /= np.linalg.norm(A, axis=0)
    Z = np.zeros((trials, K))
    for b in range(trials):
        amplitude = rng.standard_normal(s)
        Z[b, rng.choice(K, s, replace=False)] = np.abs(amplitude) if positive else amplitude
    Y = Z @ A.T
    Y += noise * np.linalg.norm(Y, axis=1, keepdims=True) / np.sqrt(d) * rng.standard_normal(Y.shape)
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    return torch.tensor(A, dtype=dtype), torch.tensor(Y, dtype=dtype)


def sklearn_lasso(A: torch.Tensor, Y: torch.Tensor, lambda_star: float, positive: bool) -> np.ndarray:
    """scikit-learn's Lasso solutions of ``½‖y − A z‖² + λ*‖z‖₁`` for each row of ``Y``: ``(trials, K)`` float64.

    scikit-learn minimizes ``1/(2d)‖y − A z‖² + α‖z‖₁``, so ``α = λ*/d``; tolerance 1e-12.
    Needs scikit-learn (the ``dev`` extra).
    """
    from sklearn.linear_model import Lasso

    A64, Y64 = A.double().numpy(), Y.double().numpy()
    solver = Lasso(alpha=lambda_star / A64.shape[0], fit_intercept=False, tol=1e-12, max_iter=200_000, positive=positive)
    return np.stack([solver.fit(A64, y).coef_.copy() for y in Y64])
