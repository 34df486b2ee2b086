"""A Gaussian model of the embedding ``w = Φ(x)``: generation from noise is ``G(w)`` with ``w`` drawn from it.

Angles & Mallat (ICLR 2018, §3) generate images by inverting a scattering embedding of Gaussian white
noise shaped to the training statistics: ``w ~ N(μ, Σ)`` with ``μ``, ``Σ`` the mean and covariance of
``Φ(x)`` over the training set. Two covariance models:

- ``"full"``: ``Σ`` is the ``D × D`` covariance of the flattened ``w`` (``D = C_w·h·w``), exact; for
  small embeddings (``D ≤ max_full_dim``: ~300 MB of float64 accumulator at 6,144).
- ``"stationary"``: ``Σ`` is translation invariant on the periodic ``h × w`` grid — a covariance per
  channel pair and per *offset*, equivalently one ``C_w × C_w`` Hermitian matrix per spatial frequency
  (the Fourier coefficients of different frequencies are uncorrelated). The mean stays a full map.
  ``h·w·C_w²`` numbers instead of ``(h·w·C_w)²``: CelebA 64² at J=3 (``C_w = 291``, 8×8) needs 5.4M,
  not 347M.

Statistics accumulate in one streaming pass with Chan, Golub & LeVeque's pairwise update in float64
(numerically stable), so batches, or ranks, can be merged in any order. :meth:`finalize_` computes a
square root ``R`` (``R Rᴴ = Σ``, eigen-decomposition with negative eigenvalues clipped, so rank-deficient
estimates are fine); :meth:`sample` draws ``w = μ + temperature · R ξ``, ``ξ`` white Gaussian noise.
:meth:`condition` gives the model conditioned on some channels of ``w`` (:class:`ConditionalGaussianEmbedding`).

**Conditioned on some channels.** The Gaussian model of ``w`` conditioned on some of its channels: coarse-grain sampling (DESIGN §6b).

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

import os
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from .prior import FORMAT, Prior, register_prior

__all__ = ["ConditionalGaussianEmbedding", "GaussianEmbedding"]

_FORMAT = "gennet.gaussian_embedding/1"  # files written before the priors had one format; still read


@register_prior("gaussian")
class GaussianEmbedding(Prior):
    """``w ~ N(μ, Σ)`` fitted to embeddings ``w: (B, C_w, h, w)``; see the module docstring.

    Buffers saved in the ``state_dict``: ``count`` (float64), ``mean`` (full: ``(D,)`` float64;
    stationary: ``(h, w, C_w)`` complex128, the mean's 2-D DFT with ``norm="ortho"``) and ``factor``
    (``R``: full ``(D, D)``, stationary ``(h, w, C_w, C_w)`` complex; float32/complex64). The second-moment
    accumulator ``m2`` is not saved (call :meth:`update_` again to refit).

    Args:
        shape: ``(C_w, h, w)`` of one embedding.
        covariance: ``"full"``, ``"stationary"``, or ``"auto"`` (full when ``D ≤ max_full_dim``).
        max_full_dim: the largest ``D`` for which ``"auto"`` picks the full covariance.

    Raises:
        ValueError: bad ``shape`` or ``covariance``; from :meth:`update_`, embeddings of another shape;
            from :meth:`sample`, a model that has not been fitted and finalized.

    Source: T. Angles, S. Mallat, "Generative networks as inverse problems with scattering transforms",
    ICLR 2018, §3; T. Chan, G. Golub, R. LeVeque, The American Statistician 37 (1983) (pairwise update).
    """

    fitted_flag = "finalized"

    def __init__(self, shape: tuple[int, int, int], covariance: str = "auto", max_full_dim: int = 6144) -> None:
        super().__init__()
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"shape must be (C_w, h, w) with positive sizes, got {tuple(shape)}")
        if covariance not in ("auto", "full", "stationary"):
            raise ValueError(f"covariance must be 'auto', 'full' or 'stationary', got {covariance!r}")
        self.shape = tuple(int(s) for s in shape)
        C, h, w = self.shape
        D = C * h * w
        self.covariance = covariance if covariance != "auto" else ("full" if D <= max_full_dim else "stationary")
        full = self.covariance == "full"
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        if full:
            self.register_buffer("mean", torch.zeros(D, dtype=torch.float64))
            self.register_buffer("m2", torch.zeros(D, D, dtype=torch.float64), persistent=False)
            self.register_buffer("factor", torch.zeros(D, D))
        else:
            self.register_buffer("mean", torch.zeros(h, w, C, dtype=torch.complex128))
            self.register_buffer("m2", torch.zeros(h, w, C, C, dtype=torch.complex128), persistent=False)
            self.register_buffer("factor", torch.zeros(h, w, C, C, dtype=torch.complex64))
        self.register_buffer("finalized", torch.zeros((), dtype=torch.bool))
        self.max_full_dim = int(max_full_dim)

    supports_condition = True

    def config(self) -> dict:
        return {"shape": list(self.shape), "covariance": self.covariance, "max_full_dim": self.max_full_dim}

    # -- fitting ---------------------------------------------------------------------------------
    def _vectors(self, w: Tensor) -> Tensor:
        """Full: ``(B, D)`` float64; stationary: ``(B, h, w, C_w)`` complex128 (orthonormal DFT)."""
        if w.ndim != 4 or tuple(w.shape[1:]) != self.shape:
            raise ValueError(f"expected embeddings (B, {', '.join(map(str, self.shape))}), got {tuple(w.shape)}")
        w = w.detach().to(device=self.mean.device, dtype=torch.float64)
        if self.covariance == "full":
            return w.flatten(1)
        return torch.fft.fft2(w, norm="ortho").permute(0, 2, 3, 1)

    @torch.no_grad()
    def update_(self, w: Tensor) -> None:
        """Merge a batch of embeddings ``(B, C_w, h, w)`` into the statistics (Chan et al.'s update)."""
        v = self._vectors(w)
        mean = v.mean(0)
        centered = v - mean
        if self.covariance == "full":
            m2 = centered.T @ centered
        else:
            m2 = torch.einsum("bhwc,bhwd->hwcd", centered, centered.conj())
        self.merge_(torch.tensor(float(v.shape[0]), dtype=torch.float64), mean, m2)

    @torch.no_grad()
    def merge_(self, count: Tensor, mean: Tensor, m2: Tensor) -> None:
        """Combine with other statistics ``(count, mean, m2)`` of the same layout (a batch, another rank)."""
        count = count.to(self.count)
        total = self.count + count
        if not bool(total > 0):
            return
        delta = mean.to(self.mean) - self.mean
        outer = delta[:, None] * delta[None, :] if self.covariance == "full" else delta[..., :, None] * delta[..., None, :].conj()
        self.mean.add_(delta * (count / total))
        self.m2.add_(m2.to(self.m2) + outer * (self.count * count / total))
        self.count.copy_(total)
        self.finalized.fill_(False)

    @torch.no_grad()
    def fit_(self, embeddings: Iterable[Tensor] | Tensor, val: Tensor | None = None) -> GaussianEmbedding:
        """Reset, accumulate every batch of ``embeddings`` (batches ``(B, C_w, h, w)``, or one tensor of them),
        :meth:`finalize_`; returns ``self``. ``val`` is not used (the Gaussian has nothing to select)."""
        if isinstance(embeddings, Tensor):
            embeddings = [embeddings]
        self.count.zero_()
        self.mean.zero_()
        self.m2.zero_()
        for w in embeddings:
            self.update_(w)
        return self.finalize_()

    @torch.no_grad()
    def finalize_(self) -> GaussianEmbedding:
        """Compute ``R`` with ``R Rᴴ = m2 / count`` (eigen-decomposition, eigenvalues clipped at 0)."""
        if not bool(self.count > 0):
            raise ValueError("GaussianEmbedding: no statistics yet (call update_ or fit_ first)")
        covariance = self.m2 / self.count
        covariance = (covariance + covariance.transpose(-1, -2).conj()) / 2  # exactly Hermitian
        values, vectors = torch.linalg.eigh(covariance)
        self.factor.copy_((vectors * values.clamp_min(0).sqrt().unsqueeze(-2)).to(self.factor.dtype))
        self.finalized.fill_(True)
        return self

    # -- sampling --------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """``n`` embeddings ``(n, C_w, h, w)`` float32 on the model's device: ``μ + temperature · R ξ``.

        ``ξ`` is drawn on the CPU from ``generator`` (seeded draws are identical on every device).
        """
        if not bool(self.finalized):
            raise ValueError("GaussianEmbedding: fit the model (fit_, or update_ then finalize_) before sampling")
        self.check_draw(n, temperature)
        C, h, w = self.shape
        noise = torch.randn(n, C, h, w, generator=generator, dtype=torch.float64).to(self.mean.device)
        if self.covariance == "full":
            out = self.mean + temperature * noise.flatten(1) @ self.factor.to(torch.float64).T
            return out.reshape(n, C, h, w).float()
        # white noise has an orthonormal DFT that is white too (and Hermitian-symmetric, so the result is real)
        spectrum = torch.fft.fft2(noise, norm="ortho").permute(0, 2, 3, 1)
        spectrum = self.mean + temperature * torch.einsum("hwcd,nhwd->nhwc", self.factor.to(torch.complex128), spectrum)
        return torch.fft.ifft2(spectrum.permute(0, 3, 1, 2), norm="ortho").real.float()

    def condition(self, channels, ridge: float = 1e-6):
        """The model conditioned on ``channels`` of ``w`` at every position (e.g. the low-pass channel of each image
        channel): a :class:`~gennet.priors.ConditionalGaussianEmbedding` whose :meth:`sample` keeps those channels of
        a given ``w`` and draws the others (coarse-grain sampling, DESIGN §6b).

        Raises:
            ValueError: see :class:`~gennet.priors.ConditionalGaussianEmbedding`.
        """
        return ConditionalGaussianEmbedding(self, channels, ridge)

    # -- persistence -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu") -> GaussianEmbedding:
        """Read a model written by :meth:`save` (or by gennet before the priors moved to :mod:`gennet.priors`),
        with ``torch.load(weights_only=True)``.

        Raises:
            ValueError: the file is not a gennet Gaussian embedding model (the path is named).
        """
        from .loading import prior_from_content

        content = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(content, dict) and content.get("format") == _FORMAT:  # the earlier layout: the config at the top
            content = {"format": FORMAT, "kind": "gaussian", "state_dict": content.get("state_dict"),
                       "config": {k: content.get(k) for k in ("shape", "covariance")}}
        if not isinstance(content, dict) or content.get("format") != FORMAT:
            raise ValueError(f"'{path}' is not a gennet Gaussian embedding model")
        return prior_from_content(content, path, kinds=("gaussian",)).to(map_location)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, covariance={self.covariance!r}, count={int(self.count)}"


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
