"""Expectation–maximization for a Gaussian mixture with full covariances (Dempster, Laird & Rubin 1977).

The mixture ``p(y) = Σ_k π_k N(y; μ_k, Σ_k)`` over ``y ∈ R^d`` is fitted by maximum likelihood: the E-step
computes the responsibilities ``r_nk = π_k N(y_n; μ_k, Σ_k) / p(y_n)`` (in the log domain, Cholesky factors
of ``Σ_k``), the M-step sets ``N_k = Σ_n r_nk``, ``π_k = N_k / N``, ``μ_k = Σ_n r_nk y_n / N_k`` and
``Σ_k = Σ_n r_nk (y_n − μ_k)(y_n − μ_k)ᵀ / N_k + ε I`` (``ε = reg_covar``, as scikit-learn's ``reg_covar``:
it keeps a component that shrinks onto a few points positive definite). The mean log-likelihood increases
at every iteration; iterations stop when it changes by less than ``tol``. Initialization: k-means++ seeds
(Arthur & Vassilvitskii 2007) refined by Lloyd iterations, then one M-step on the hard assignments — what
scikit-learn's ``init_params="kmeans"`` does with its own k-means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["MixtureParameters", "gaussian_mixture_em", "mixture_log_prob", "kmeans"]


@dataclass
class MixtureParameters:
    """``weights (K,)``, ``means (K, d)``, ``covariances (K, d, d)`` (float64), the iterations run and whether EM
    converged, and ``log_likelihood``: the mean log-likelihood of the data it was fitted on (nats per point)."""

    weights: Tensor
    means: Tensor
    covariances: Tensor
    iterations: int
    converged: bool
    log_likelihood: float


def mixture_log_prob(y: Tensor, weights: Tensor, means: Tensor, covariances: Tensor) -> Tensor:
    """``log p(y_n)`` for ``y: (N, d)`` under the mixture: ``(N,)`` in the dtype of the parameters."""
    return torch.logsumexp(_component_log_probs(y, weights, means, covariances), dim=1)


def _component_log_probs(y: Tensor, weights: Tensor, means: Tensor, covariances: Tensor) -> Tensor:
    """``log π_k + log N(y_n; μ_k, Σ_k)``: ``(N, K)``."""
    y = y.to(means.dtype)
    d = y.shape[1]
    cholesky = torch.linalg.cholesky(covariances)  # (K, d, d)
    centered = (y.unsqueeze(0) - means.unsqueeze(1)).transpose(1, 2)  # (K, d, N)
    solved = torch.linalg.solve_triangular(cholesky, centered, upper=False)  # (K, d, N)
    log_det = 2 * torch.log(torch.diagonal(cholesky, dim1=1, dim2=2)).sum(1)  # (K,)
    log_normal = -0.5 * (d * math.log(2 * math.pi) + log_det.unsqueeze(1) + solved.square().sum(1))  # (K, N)
    return (log_normal + torch.log(weights).unsqueeze(1)).T


def kmeans(y: Tensor, K: int, generator: torch.Generator, iterations: int = 20) -> Tensor:
    """Cluster labels ``(N,)`` of ``y: (N, d)``: k-means++ seeds, then Lloyd iterations (empty clusters keep their centre)."""
    N = y.shape[0]
    centres = [y[torch.randint(N, (1,), generator=generator).item()]]
    distance = (y - centres[0]).square().sum(1)
    for _ in range(1, K):
        index = torch.multinomial((distance / distance.sum()).float().cpu(), 1, generator=generator).item()
        centres.append(y[index])
        distance = torch.minimum(distance, (y - y[index]).square().sum(1))
    centres = torch.stack(centres)
    for _ in range(iterations):
        labels = torch.cdist(y, centres).argmin(1)
        counts = torch.bincount(labels, minlength=K).to(y.dtype)
        sums = torch.zeros_like(centres).index_add_(0, labels, y)
        moved = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centres)
        if torch.equal(moved, centres):
            break
        centres = moved
    return torch.cdist(y, centres).argmin(1)


def _m_step(y: Tensor, resp: Tensor, reg_covar: float) -> tuple[Tensor, Tensor, Tensor]:
    counts = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps  # (K,)
    means = resp.T @ y / counts[:, None]
    centered = y.unsqueeze(0) - means.unsqueeze(1)  # (K, N, d)
    covariances = torch.einsum("nk,kni,knj->kij", resp, centered, centered) / counts[:, None, None]
    covariances = covariances + reg_covar * torch.eye(y.shape[1], dtype=y.dtype, device=y.device)
    return counts / counts.sum(), means, covariances


@torch.no_grad()
def gaussian_mixture_em(
    y: Tensor,
    num_components: int,
    generator: torch.Generator | None = None,
    max_iter: int = 200,
    tol: float = 1e-4,
    reg_covar: float = 1e-6,
) -> MixtureParameters:
    """Fit a ``num_components``-component full-covariance Gaussian mixture to ``y: (N, d)`` by EM (float64).

    Raises:
        ValueError: ``y`` not 2-D, fewer points than components, or non-positive ``max_iter``/``tol``/``reg_covar``.

    Source: A. Dempster, N. Laird, D. Rubin, J. R. Stat. Soc. B 39 (1977); C. Bishop, *Pattern Recognition and
    Machine Learning* (2006), §9.2.2; scikit-learn's ``GaussianMixture`` for the conventions (``reg_covar``, ``tol``).
    """
    if y.ndim != 2:
        raise ValueError(f"expected points (N, d), got {tuple(y.shape)}")
    if not 1 <= num_components <= y.shape[0]:
        raise ValueError(f"num_components must be in [1, N={y.shape[0]}], got {num_components}")
    if max_iter < 1 or not tol > 0 or not reg_covar > 0:
        raise ValueError(f"need max_iter >= 1, tol > 0, reg_covar > 0; got {max_iter}, {tol}, {reg_covar}")
    y = y.to(torch.float64)
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    labels = kmeans(y, num_components, generator)
    resp = torch.nn.functional.one_hot(labels, num_components).to(y.dtype)
    weights, means, covariances = _m_step(y, resp, reg_covar)
    previous, converged, iteration = -math.inf, False, 0
    for iteration in range(1, max_iter + 1):
        log_joint = _component_log_probs(y, weights, means, covariances)
        log_p = torch.logsumexp(log_joint, dim=1, keepdim=True)
        current = float(log_p.mean())
        if abs(current - previous) < tol:
            converged = True
            break
        previous = current
        weights, means, covariances = _m_step(y, torch.exp(log_joint - log_p), reg_covar)
    log_likelihood = float(mixture_log_prob(y, weights, means, covariances).mean())
    return MixtureParameters(weights, means, covariances, iteration, converged, log_likelihood)
