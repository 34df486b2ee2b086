"""The Gaussian model of ``w`` conditioned on some of its channels: coarse-grain sampling (DESIGN §6b).

Seed 001, "Coarse grain model — syntheses with different input noises": keep the low-pass channel of
``w = Φ(x)`` of an image (its coarse structure, ``x ⋆ φ_J``) and draw the other channels (the wavelet
bands) from the Gaussian model of ``w`` conditioned on it; decoding gives several images that share the
coarse structure and differ in their details.

For a Gaussian ``(w_b, w_l) ~ N(μ, Σ)`` (``l``: the conditioned coordinates, ``b``: the others)

    w_b | w_l = l  ~  N(μ_b + K (l − μ_l),  Σ_bb − K Σ_lb),    K = Σ_bl Σ_ll⁻¹

(e.g. Rasmussen & Williams, *Gaussian Processes for Machine Learning*, 2006, eq. A.6). The conditional
covariance does not depend on ``l``: one factor serves every condition.

- ``"full"`` model: ``l`` = the conditioned channels at every position, ``Σ`` the full ``D × D`` matrix.
- ``"stationary"`` model: ``Σ`` is diagonal across spatial frequencies (one ``C_w × C_w`` Hermitian matrix
  ``Σ̂(k)`` per frequency ``k`` of the orthonormal 2-D DFT), and conditioning on a channel at every
  position is conditioning on all its Fourier coefficients; the formula then holds per frequency across
  channels, ``K(k) = Σ̂_bl(k) Σ̂_ll(k)⁻¹``, exactly (the coefficients of a stationary real field are proper
  complex Gaussians, independent across frequencies up to the Hermitian symmetry ``ŵ(−k) = conj ŵ(k)``,
  which the per-frequency formula preserves). The mean ``μ`` stays a full map.

Numerics (float64). ``Σ_ll`` is regularized by a relative ridge, ``Σ_ll + ρ·s·I`` with ``s`` the mean variance
of the conditioned coordinates (for the stationary model ``s`` is the mean of ``diag Σ̂_ll(k)`` over
frequencies, the same number by Parseval) and ``ρ = ridge`` (default 1e-6), then solved by Cholesky. The
conditional draws use Matheron's rule (pathwise conditioning; J. Wilson et al., "Efficiently sampling
functions from Gaussian process posteriors", ICML 2020, eq. 5): with the model's factor ``R`` (``R Rᵀ = Σ``)
split into its rows ``R_l``, ``R_b``, the factor of the conditional is ``F = R_b − K R_l``, because
``w_b − K w_l`` is independent of ``w_l``: ``F Fᵀ = Σ_bb − K Σ_lb`` exactly for ``ρ = 0`` (``− ρ s K Kᵀ`` with the
ridge), positive semi-definite by construction, and no ``D_b × D_b`` eigen-decomposition is needed (only
``Σ_ll = R_l R_lᵀ`` and ``Σ_bl = R_b R_lᵀ`` are formed). Per frequency, ``F(−k) = conj F(k)`` whenever
``R(−k) = conj R(k)``, so the stationary draws are real fields.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .gaussian import GaussianEmbedding

__all__ = ["ConditionalGaussianEmbedding"]


def _matheron(factor: Tensor, cond: Tensor, free: Tensor, ridge: float, scale: Tensor) -> tuple[Tensor, Tensor]:
    """``(K, R_b − K R_l)`` for (a batch of) factors ``R: (..., n, n)``, rows ``cond`` (l) and ``free`` (b), with
    ``K = Σ_bl (Σ_ll + ρ s I)⁻¹`` and ``Σ = R Rᴴ``."""
    r_l, r_b = factor[..., cond, :], factor[..., free, :]
    s_ll = r_l @ r_l.transpose(-1, -2).conj()
    s_lb = r_l @ r_b.transpose(-1, -2).conj()
    eye = torch.eye(len(cond), dtype=factor.dtype, device=factor.device)
    cholesky = torch.linalg.cholesky(s_ll + ridge * scale * eye)
    gain = torch.cholesky_solve(s_lb, cholesky).transpose(-1, -2).conj()  # K = Σ_bl (Σ_ll + ρ s I)⁻¹
    return gain, r_b - gain @ r_l


class ConditionalGaussianEmbedding(nn.Module):
    """``w_b | w_l`` for a fitted :class:`GaussianEmbedding` and conditioned ``channels`` of ``w`` (all positions).

    Built by :meth:`GaussianEmbedding.condition`. See the module docstring for the formulas and numerics.

    Buffers: ``gain`` (``K``; full: ``(D_b, D_l)`` float64; stationary: ``(h, w, C_b, C_l)`` complex128),
    ``factor`` (``F = R_b − K R_l``, ``F Fᴴ`` the conditional covariance; full: ``(D_b, D)`` float32;
    stationary: ``(h, w, C_b, C_w)`` complex64), ``mean`` (the model's, as stored there).

    Args:
        model: a fitted and finalized Gaussian model of ``w: (C_w, h, w)``.
        channels: indices of the conditioned channels, in ``[0, C_w)``, distinct, not all of them.
        ridge: the relative ridge ``ρ`` added to ``Σ_ll``.

    Raises:
        ValueError: an unfitted model, bad ``channels`` or a negative ``ridge``.
    """

    def __init__(self, model: GaussianEmbedding, channels: Sequence[int], ridge: float = 1e-6) -> None:
        super().__init__()
        if not bool(model.finalized):
            raise ValueError("ConditionalGaussianEmbedding: fit the Gaussian model (fit_, or update_ then finalize_) first")
        C, h, w = model.shape
        channels = [int(c) for c in channels]
        if not channels or len(set(channels)) != len(channels) or not all(0 <= c < C for c in channels) or len(channels) == C:
            raise ValueError(f"channels must be distinct indices in [0, {C}), not all of them, got {channels}")
        if not ridge >= 0:
            raise ValueError(f"ridge must be >= 0, got {ridge}")
        self.shape, self.covariance, self.ridge = model.shape, model.covariance, float(ridge)
        self.channels = sorted(channels)
        self.free_channels = [c for c in range(C) if c not in self.channels]
        device = model.mean.device
        self.register_buffer("mean", model.mean.clone())
        if self.covariance == "full":
            factor = model.factor.to(torch.float64)
            chan = torch.arange(C * h * w, device=device) // (h * w)  # w.flatten(1) is channel-major
            is_cond = torch.isin(chan, torch.tensor(self.channels, device=device))
            cond, free = is_cond.nonzero().flatten(), (~is_cond).nonzero().flatten()
            self.register_buffer("cond_index", cond)
            self.register_buffer("free_index", free)
        else:
            factor = model.factor.to(torch.complex128)  # R(k): (h, w, C, C)
            cond = torch.tensor(self.channels, device=device)
            free = torch.tensor(self.free_channels, device=device)
        scale = factor[..., cond, :].abs().square().sum(-1).mean()  # mean of diag Σ_ll (over frequencies too)
        scale = scale.clamp_min(torch.finfo(torch.float64).tiny)
        gain, conditional = _matheron(factor, cond, free, self.ridge, scale)
        self.register_buffer("gain", gain)
        self.register_buffer("factor", conditional.to(model.factor.dtype))

    def _check(self, w: Tensor) -> Tensor:
        if w.ndim != 4 or tuple(w.shape[1:]) != self.shape:
            raise ValueError(f"expected embeddings (B, {', '.join(map(str, self.shape))}), got {tuple(w.shape)}")
        return w.to(self.mean.device)

    @torch.no_grad()
    def sample(self, w: Tensor, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """``n`` draws per condition: ``w: (B, C_w, h, w)`` → ``(B, n, C_w, h, w)`` float32 on the model's device.

        The conditioned channels of every draw are those of ``w`` (bit for bit, as float32); the others are
        ``μ_b|l + temperature · F ξ``, ``ξ`` white Gaussian noise drawn on the CPU from ``generator``.
        ``temperature=0`` gives the conditional mean.

        Raises:
            ValueError: ``w`` of another shape, ``n < 1`` or a negative ``temperature``.
        """
        w = self._check(w).float()
        if n < 1 or not temperature >= 0:
            raise ValueError(f"need n >= 1 and temperature >= 0, got n={n}, temperature={temperature}")
        B, (C, h, wd) = w.shape[0], self.shape
        noise = torch.randn(B, n, C, h, wd, generator=generator, dtype=torch.float64).to(self.mean.device)
        out = w.unsqueeze(1).repeat(1, n, 1, 1, 1)
        if self.covariance == "full":
            flat = w.double().flatten(1)
            mean_b = self.mean[self.free_index] + (flat[:, self.cond_index] - self.mean[self.cond_index]) @ self.gain.T
            free = mean_b.unsqueeze(1) + temperature * noise.flatten(2) @ self.factor.to(torch.float64).T
            out.flatten(2)[..., self.free_index] = free.float()
            return out
        spectrum = torch.fft.fft2(w.double(), norm="ortho").permute(0, 2, 3, 1)  # (B, h, w, C)
        centered = spectrum[..., self.channels] - self.mean[..., self.channels]
        mean_b = self.mean[..., self.free_channels] + torch.einsum("hwbl,nhwl->nhwb", self.gain, centered)
        white = torch.fft.fft2(noise, norm="ortho").permute(0, 1, 3, 4, 2)  # (B, n, h, w, C), Hermitian-symmetric
        free = mean_b.unsqueeze(1) + temperature * torch.einsum("hwbc,snhwc->snhwb", self.factor.to(torch.complex128), white)
        out[:, :, self.free_channels] = torch.fft.ifft2(free.permute(0, 1, 4, 2, 3), norm="ortho").real.float()
        return out

    @torch.no_grad()
    def mean_of(self, w: Tensor) -> Tensor:
        """The conditional mean embeddings ``(B, C_w, h, w)`` given ``w: (B, C_w, h, w)`` (conditioned channels copied)."""
        return self.sample(w, 1, temperature=0.0)[:, 0]

    @torch.no_grad()
    def dense_covariance(self) -> Tensor:
        """The conditional covariance of the free coordinates as one ``(D_b, D_b)`` float64 matrix (free channels in
        increasing order, each ``h·w`` positions row-major): for small models (tests, analysis); ``O(D_b²)`` memory."""
        if self.covariance == "full":
            factor = self.factor.to(torch.float64)
            return factor @ factor.T
        _, h, w = self.shape
        factor = self.factor.to(torch.complex128)
        spectral = factor @ factor.transpose(-1, -2).conj()  # (h, w, C_b, C_b)
        # E[w_c(p) w_c'(p')] = C_cc'(p − p'), with C_cc' the inverse DFT (1/(h·w) convention) of Σ̂_cc'(k)
        by_offset = torch.fft.ifft2(spectral.permute(2, 3, 0, 1)).real  # (C_b, C_b, h, w)
        rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        dr = (rows.flatten()[:, None] - rows.flatten()[None, :]) % h
        dc = (cols.flatten()[:, None] - cols.flatten()[None, :]) % w
        dense = by_offset[:, :, dr, dc]  # (C_b, C_b, hw, hw)
        C_b = len(self.free_channels)
        return dense.permute(0, 2, 1, 3).reshape(C_b * h * w, C_b * h * w)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, covariance={self.covariance!r}, channels={self.channels}, ridge={self.ridge:g}"
