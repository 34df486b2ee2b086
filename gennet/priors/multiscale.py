"""A multiscale prior from few images: ``p(w_low) · Π_n p(w_band[n] | w_low near n)`` (issue 31, lever 4; DESIGN §12).

The embedding ``w = Φ(x)`` splits into its low-pass channels ``w_low = x ⋆ φ_J`` (the coarse image) and its band
channels ``w_band`` on the same ``h × w`` grid. A model of all of ``w`` at once has ``C_w·h·w`` numbers to learn from
``N`` images (faces: 12,480 from 50); the factorization of Guth, Coste, De Bortoli & Mallat (2022) and Kadkhodaie,
Guth, Mallat & Simoncelli (ICLR 2023) learns the fine scales *conditionally* on the coarse one, with models that are
local — the bands at a position depend on the coarse image near it — so each image gives ``h·w`` examples of the
conditional, not one:

- ``p(w_low)``: a Gaussian ``N(μ_l, Σ_l)`` over the ``C_l·h·w`` low-pass numbers, ``Σ_l`` shrunk towards a white
  field (``Σ_l + shrinkage·tr(Σ_l)/tr(T)·T``, ``T = C ⊗ I``, ``C`` the channel covariance pooled over positions: the
  sample covariance of ``N < D_l`` images is singular; ``T = I`` would give gray images colour, which the CNN
  decoder's PCA whitening amplifies ~10³×); the residual covariance below, from ``N·h·w`` examples, is not shrunk;
- ``p(w_band[n] | w_low)``: at every grid position ``n``, the ``C_b`` band numbers are Gaussian with a mean affine in
  the low-pass patch of radius ``radius`` around ``n`` (``f(n)``, ``C_l·(2r+1)²`` numbers, periodic borders),

      w_band[n] = μ_b(n) + Aᵀ (f(n) − μ_f(n)) + L_r ξ(n),     ξ(n) ~ N(0, I) independent over n,

  one regression ``A`` (ridge) and one residual covariance ``L_r L_rᵀ`` shared by all positions (stationary), the
  means ``μ_b(n)``, ``μ_f(n)`` per position (the images are aligned: eyes are where eyes are).

A draw: ``w_low ~ p(w_low)``, then the bands given it, all scaled about their means by the temperature. The
conditional alone (:meth:`condition`) is coarse-grain sampling. Nothing is fitted iteratively: closed form, seconds.

Source: F. Guth, S. Coste, V. De Bortoli, S. Mallat, "Wavelet score-based generative modeling", NeurIPS 2022 (the
factorization over scales); Z. Kadkhodaie, F. Guth, S. Mallat, E. Simoncelli, "Learning multi-scale local
conditional probability models of images", ICLR 2023 (local conditional models learn from few images); S. Mallat,
seed 001, "Coarse grain model".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .prior import Prior, register_prior

__all__ = ["MultiscalePrior", "MultiscaleConditional"]

def _psd_factor(covariance: Tensor, shrinkage: float, target: Tensor | None = None) -> Tensor:
    """A factor ``L`` (``L Lᵀ = S``, float64) of ``S = Σ + shrinkage·(tr Σ / tr T)·T``, the shrinkage target ``T``
    (default ``I``) scaled to ``Σ``'s trace; eigenvalues clipped at 0 (a rank-deficient ``S`` is factorized, not
    lifted: no variance is added in directions ``Σ`` and ``T`` both lack)."""
    D = covariance.shape[0]
    target = torch.eye(D, dtype=covariance.dtype, device=covariance.device) if target is None else target
    scale = float(covariance.diagonal().sum()) / max(float(target.diagonal().sum()), 1e-300)
    values, vectors = torch.linalg.eigh(covariance + max(shrinkage * scale, 1e-300) * target)
    return vectors * values.clamp_min(0).sqrt()


def _channel_target(deviations: Tensor) -> Tensor:
    """The shrinkage target of the low-pass covariance: ``C ⊗ I_{h·w}``, ``C`` the ``C_l × C_l`` channel covariance
    pooled over positions, from ``deviations: (N, C_l, h, w)``. White over positions like ``I``, but it keeps the
    channels' own relations: gray images (equal colour channels) get no colour in their draws."""
    N, C_l, h, w = deviations.shape
    pooled = deviations.transpose(0, 1).reshape(C_l, -1)
    channel = pooled @ pooled.T / max(pooled.shape[1] - 1, 1)
    return torch.kron(channel, torch.eye(h * w, dtype=deviations.dtype, device=deviations.device))


@register_prior("multiscale")
class MultiscalePrior(Prior):
    """``p(w_low) · Π_n p(w_band[n] | w_low near n)`` over ``w: (C_w, h, w)`` (module docstring).

    Buffers (float64): ``low_mean (D_l,)``, ``low_factor (D_l, D_l)``, ``feature_mean (h·w, F)``,
    ``band_mean (h·w, C_b)``, ``regression (F, C_b)``, ``residual_factor (C_b, C_b)``; ``fitted`` (bool).

    Args:
        shape: ``(C_w, h, w)``.
        condition_channels: the low-pass channels of ``w`` (``train_prior.py``'s ``lowpass``: channel 0 of each
            image channel's block).
        radius: ``r``, the half-width of the low-pass patch each position's bands depend on.
        shrinkage: of the low-pass covariance towards ``C ⊗ I``, relative to its trace (50 faces, the sparse decoder:
            0.05 draws 4% copies, scattering distance 0.92·10⁻³; with the target ``I`` 0.05 gave 8%, 0.001 12%; README).
        ridge: of the regression, relative to the mean variance of the features.

    Raises:
        ValueError: bad arguments; from :meth:`fit_`, embeddings of another shape or fewer than 2; from
            :meth:`sample`, an unfitted prior.
    """

    supports_condition = True

    def __init__(self, shape, condition_channels: Sequence[int] = (0,), radius: int = 1, shrinkage: float = 0.05,
                 ridge: float = 0.1) -> None:
        super().__init__()
        shape = tuple(int(s) for s in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"shape must be (C_w, h, w) with positive sizes, got {shape}")
        low = sorted(int(c) for c in condition_channels)
        if not low or len(set(low)) != len(low) or not all(0 <= c < shape[0] for c in low) or len(low) == shape[0]:
            raise ValueError(f"condition_channels must be distinct channels in [0, {shape[0]}), some but not all, got {low}")
        if isinstance(radius, bool) or int(radius) != radius or radius < 0 or not shrinkage >= 0 or not ridge >= 0:
            raise ValueError(f"need radius >= 0 (an integer), shrinkage >= 0, ridge >= 0, got {radius}, {shrinkage}, {ridge}")
        self.shape, self.condition_channels = shape, low
        self.band_channels = [c for c in range(shape[0]) if c not in low]
        self.radius, self.shrinkage, self.ridge = int(radius), float(shrinkage), float(ridge)
        C_l, C_b, P = len(low), len(self.band_channels), shape[1] * shape[2]
        F_ = C_l * (2 * self.radius + 1) ** 2
        for name, size in (("low_mean", (C_l * P,)), ("low_factor", (C_l * P, C_l * P)), ("feature_mean", (P, F_)),
                           ("band_mean", (P, C_b)), ("regression", (F_, C_b)), ("residual_factor", (C_b, C_b))):
            self.register_buffer(name, torch.zeros(size, dtype=torch.float64))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def config(self) -> dict:
        return {"shape": list(self.shape), "condition_channels": list(self.condition_channels), "radius": self.radius,
                "shrinkage": self.shrinkage, "ridge": self.ridge}

    def features(self, low: Tensor) -> Tensor:
        """The low-pass patches ``f(n)``: ``(B, C_l, h, w)`` → ``(B, h·w, C_l·(2r+1)²)`` (periodic borders)."""
        r = self.radius
        padded = F.pad(low, (r, r, r, r), mode="circular") if r else low
        return F.unfold(padded, 2 * r + 1).transpose(1, 2)

    @torch.no_grad()
    def fit_(self, train: Tensor, val: Tensor | None = None) -> MultiscalePrior:
        """Closed-form fit on training embeddings ``(N, C_w, h, w)``, ``N ≥ 2`` (float64); ``val`` is not used."""
        w = self.check(train).to(self.low_mean.device, torch.float64)
        N = w.shape[0]
        if N < 2:
            raise ValueError(f"the multiscale prior needs at least 2 embeddings, got {N}")
        low, band = w[:, self.condition_channels], w[:, self.band_channels]
        flat = low.flatten(1)
        self.low_mean.copy_(flat.mean(0))
        centered = flat - self.low_mean
        target = _channel_target(centered.reshape(low.shape))
        self.low_factor.copy_(_psd_factor(centered.T @ centered / (N - 1), self.shrinkage, target))
        f = self.features(low)  # (N, P, F)
        b = band.flatten(2).transpose(1, 2)  # (N, P, C_b)
        self.feature_mean.copy_(f.mean(0))
        self.band_mean.copy_(b.mean(0))
        X = (f - self.feature_mean).reshape(-1, f.shape[-1])
        Y = (b - self.band_mean).reshape(-1, b.shape[-1])
        gram = X.T @ X
        lam = self.ridge * float(gram.diagonal().mean())
        self.regression.copy_(torch.linalg.solve(gram + lam * torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device), X.T @ Y))
        residual = Y - X @ self.regression
        self.residual_factor.copy_(_psd_factor(residual.T @ residual / max(residual.shape[0] - 1, 1), 0.0))
        self.fitted.fill_(True)
        return self

    def _require_fit(self) -> None:
        if not bool(self.fitted):
            raise ValueError("MultiscalePrior: fit it (fit_, or train_prior.py prior=multiscale) before sampling")

    def _bands(self, low: Tensor, generator: torch.Generator | None, temperature: float) -> Tensor:
        """Band channels ``(B, C_b, h, w)`` float64 drawn given ``low: (B, C_l, h, w)`` float64."""
        B, (_, h, wd) = low.shape[0], self.shape
        mean = self.band_mean + (self.features(low) - self.feature_mean) @ self.regression  # (B, P, C_b)
        noise = torch.randn(B, h * wd, mean.shape[-1], generator=generator, dtype=torch.float64).to(mean.device)
        return (mean + temperature * noise @ self.residual_factor.T).transpose(1, 2).reshape(B, -1, h, wd)

    def _assemble(self, low: Tensor, bands: Tensor) -> Tensor:
        out = torch.empty(low.shape[0], *self.shape, dtype=torch.float64, device=low.device)
        out[:, self.condition_channels], out[:, self.band_channels] = low, bands
        return out.float()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """``n`` embeddings ``(n, C_w, h, w)`` float32: the low-pass channels from their Gaussian, then the bands given
        them; ``temperature`` scales every draw about its (conditional) mean. Noise is drawn on the CPU."""
        self.check_draw(n, temperature)
        self._require_fit()
        xi = torch.randn(n, self.low_mean.shape[0], generator=generator, dtype=torch.float64).to(self.low_mean.device)
        low = (self.low_mean + temperature * xi @ self.low_factor.T).reshape(n, len(self.condition_channels), *self.shape[1:])
        return self._assemble(low, self._bands(low, generator, temperature))

    def condition(self, channels: Sequence[int]) -> MultiscaleConditional:
        """The sampler of the bands given the low-pass channels (coarse-grain sampling).

        Raises:
            ValueError: channels other than this prior's ``condition_channels``."""
        if sorted(int(c) for c in channels) != self.condition_channels:
            raise ValueError(f"the multiscale prior conditions on channels {self.condition_channels}, not {sorted(channels)}")
        return MultiscaleConditional(self)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, condition_channels={self.condition_channels}, radius={self.radius}"


class MultiscaleConditional:
    """``w_band | w_low`` of a fitted :class:`MultiscalePrior` (coarse-grain sampling)."""

    def __init__(self, prior: MultiscalePrior) -> None:
        self.prior, self.shape, self.channels = prior, prior.shape, prior.condition_channels

    @torch.no_grad()
    def sample(self, w: Tensor, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """``n`` draws per condition: ``w: (B, C_w, h, w)`` → ``(B, n, C_w, h, w)`` float32, the low-pass channels of
        every draw those of ``w``.

        Raises:
            ValueError: ``w`` of another shape, ``n < 1``, a negative temperature, an unfitted prior."""
        prior = self.prior
        prior.check_draw(n, temperature)
        prior._require_fit()
        low = prior.check(w).to(prior.low_mean.device, torch.float64)[:, self.channels].repeat_interleave(n, dim=0)
        return prior._assemble(low, prior._bands(low, generator, temperature)).unflatten(0, (w.shape[0], n))
