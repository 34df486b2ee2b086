"""A Gaussian mixture over the embedding ``w``, in a whitened PCA subspace (DESIGN §12).

``w ∈ R^D`` (``D = C_w·h·w``: 4,160 for the digits) is centred and projected on its first ``d`` principal
directions, each scaled to unit variance:

    y = S⁻¹ Vᵀ (w − μ) ∈ R^d,      w ≈ μ + V S y,

(``V: (D, d)`` the leading right singular vectors of the centred training embeddings, ``S`` their standard
deviations; the whitened embedding of Angles & Mallat 2018 §3). A ``K``-component full-covariance Gaussian
mixture is fitted to ``y`` by EM (:func:`~gennet.priors.em.gaussian_mixture_em`); a draw picks a component
``k`` with probability ``π_k`` and returns ``w = μ + V S (μ_k + T·L_k ξ)`` (``L_k L_kᵀ = Σ_k``, ``ξ`` white,
``T`` the temperature: it shrinks each draw towards its component's mean, not the mixture's). The ``D − d``
discarded directions are set to 0 (their variance, ``1 − explained_variance`` of the total, is reported).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .em import gaussian_mixture_em, mixture_log_prob
from .prior import Prior, register_prior

__all__ = ["GaussianMixturePrior"]


@register_prior("mixture")
class GaussianMixturePrior(Prior):
    """``K``-component Gaussian mixture over the whitened ``d``-dimensional PCA coordinates of ``w``.

    Buffers (float64 unless said): ``mean (D,)``, ``basis (d, D)`` (rows: principal directions),
    ``scales (d,)`` (standard deviations along them), ``weights (K,)``, ``means (K, d)``,
    ``factors (K, d, d)`` (Cholesky factors of ``Σ_k``), ``explained_variance`` (fraction of the total variance
    of ``w`` in the subspace), ``val_log_likelihood`` (mean log-likelihood of the validation embeddings in
    ``y``-coordinates, nats; NaN without them).

    Args:
        shape: ``(C_w, h, w)`` of one embedding.
        num_components: ``K``.
        dim: ``d``, the PCA dimensions kept (at most ``min(N − 1, D)`` at fit time).
        reg_covar: ``ε`` added to the diagonal of every ``Σ_k`` (whitened units).
        max_iter, tol: EM's iterations and tolerance on the mean log-likelihood.
        seed: seeds the k-means++ initialization.

    Raises:
        ValueError: bad arguments; from :meth:`fit_`, embeddings of another shape or too few of them; from
            :meth:`sample`, an unfitted prior.

    Source: A. Dempster, N. Laird, D. Rubin (1977); T. Angles, S. Mallat, ICLR 2018, §3 (whitening).
    """

    nan_allowed = ("val_log_likelihood",)  # NaN: fitted without validation embeddings

    def __init__(self, shape, num_components: int = 20, dim: int = 64, reg_covar: float = 1e-3,
                 max_iter: int = 300, tol: float = 1e-4, seed: int = 0) -> None:
        super().__init__()
        shape = tuple(int(s) for s in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"shape must be (C_w, h, w) with positive sizes, got {shape}")
        D = shape[0] * shape[1] * shape[2]
        if num_components < 1 or not 1 <= dim <= D:
            raise ValueError(f"need num_components >= 1 and dim in [1, {D}] (the size of w), got {num_components}, {dim}")
        if not reg_covar > 0:
            raise ValueError(f"reg_covar must be > 0, got {reg_covar}")
        self.shape = shape
        self.num_components, self.dim, self.reg_covar = int(num_components), int(dim), float(reg_covar)
        self.max_iter, self.tol, self.seed = int(max_iter), float(tol), int(seed)
        f64 = torch.float64
        self.register_buffer("mean", torch.zeros(D, dtype=f64))
        self.register_buffer("basis", torch.zeros(self.dim, D, dtype=f64))
        self.register_buffer("scales", torch.ones(self.dim, dtype=f64))
        self.register_buffer("weights", torch.full((self.num_components,), 1 / self.num_components, dtype=f64))
        self.register_buffer("means", torch.zeros(self.num_components, self.dim, dtype=f64))
        self.register_buffer("factors", torch.eye(self.dim, dtype=f64).repeat(self.num_components, 1, 1))
        self.register_buffer("explained_variance", torch.zeros((), dtype=f64))
        self.register_buffer("val_log_likelihood", torch.full((), float("nan"), dtype=f64))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def config(self) -> dict:
        return {"shape": list(self.shape), "num_components": self.num_components, "dim": self.dim,
                "reg_covar": self.reg_covar, "max_iter": self.max_iter, "tol": self.tol, "seed": self.seed}

    def check_count(self, n: int) -> None:
        if n <= self.dim:
            raise ValueError(f"dim: the mixture prior keeps dim={self.dim} PCA dimensions: it needs more than {self.dim} "
                             f"embeddings, got {n}")
        if n < self.num_components:
            raise ValueError(f"num_components: {self.num_components} components need at least as many training "
                             f"embeddings, got {n}")

    # -- coordinates --------------------------------------------------------------------------------
    def whiten(self, w: Tensor) -> Tensor:
        """``y = S⁻¹ Vᵀ (w − μ)``: ``(B, C_w, h, w)`` → ``(B, d)`` float64."""
        w = self.check(w).to(device=self.mean.device, dtype=torch.float64).flatten(1)
        return (w - self.mean) @ self.basis.T / self.scales

    def unwhiten(self, y: Tensor) -> Tensor:
        """``w = μ + V S y``: ``(B, d)`` → ``(B, C_w, h, w)`` float32."""
        return (self.mean + (y.to(self.mean) * self.scales) @ self.basis).reshape(-1, *self.shape).float()

    @torch.no_grad()
    def log_prob(self, w: Tensor) -> Tensor:
        """``log p(y)`` of the whitened coordinates of ``w``: ``(B,)`` float64, nats (the density of ``y``, not of ``w``)."""
        covariances = self.factors @ self.factors.transpose(1, 2)
        return mixture_log_prob(self.whiten(w), self.weights, self.means, covariances)

    # -- fitting --------------------------------------------------------------------------------------
    @torch.no_grad()
    def fit_(self, train: Tensor, val: Tensor | None = None) -> GaussianMixturePrior:
        """PCA of ``train: (N, C_w, h, w)``, then EM in the whitened subspace; ``val`` only scores the fit."""
        x = self.check(train).to(device=self.mean.device, dtype=torch.float64).flatten(1)
        N, D = x.shape
        self.check_count(N)
        mean = x.mean(0)
        _, singular, vh = torch.linalg.svd(x - mean, full_matrices=False)
        variances = singular.square() / (N - 1)
        self.mean.copy_(mean)
        self.basis.copy_(vh[: self.dim])
        self.scales.copy_(variances[: self.dim].sqrt().clamp_min(1e-12))
        self.explained_variance.copy_(variances[: self.dim].sum() / variances.sum())
        y = (x - mean) @ self.basis.T / self.scales
        fit = gaussian_mixture_em(y, self.num_components, torch.Generator().manual_seed(self.seed),
                                  self.max_iter, self.tol, self.reg_covar)
        self.weights.copy_(fit.weights)
        self.means.copy_(fit.means)
        self.factors.copy_(torch.linalg.cholesky(fit.covariances))
        self.fitted.fill_(True)
        self.train_log_likelihood = fit.log_likelihood
        if val is not None:
            self.val_log_likelihood.copy_(self.log_prob(val).mean())
        return self

    # -- sampling -------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """``n`` embeddings ``(n, C_w, h, w)`` float32: a component ``k ~ π``, then ``μ + V S (μ_k + T L_k ξ)``.

        Draws are made on the CPU from ``generator`` (seeded draws are identical on every device).
        """
        self.check_draw(n, temperature)
        if not bool(self.fitted):
            raise ValueError("GaussianMixturePrior: fit it (fit_) before sampling")
        k = torch.multinomial(self.weights.float().cpu(), n, replacement=True, generator=generator).to(self.mean.device)
        noise = torch.randn(n, self.dim, generator=generator, dtype=torch.float64).to(self.mean.device)
        y = self.means[k] + temperature * torch.einsum("nij,nj->ni", self.factors[k], noise)
        return self.unwhiten(y)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, num_components={self.num_components}, dim={self.dim}, reg_covar={self.reg_covar:g}"
