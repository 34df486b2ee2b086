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
:meth:`condition` gives the model conditioned on some channels of ``w`` (coarse-grain sampling,
:mod:`gennet.priors.conditional_gaussian`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import torch
from torch import Tensor

from .prior import FORMAT, Prior, register_prior

__all__ = ["GaussianEmbedding"]

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
        from .conditional_gaussian import ConditionalGaussianEmbedding

        return ConditionalGaussianEmbedding(self, channels, ridge)

    # -- persistence -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu") -> GaussianEmbedding:
        """Read a model written by :meth:`save` (or by gennet before the priors moved to :mod:`gennet.priors`),
        with ``torch.load(weights_only=True)``.

        Raises:
            ValueError: the file is not a gennet Gaussian embedding model (the path is named).
        """
        content = torch.load(path, map_location=map_location, weights_only=True)
        if not isinstance(content, dict) or content.get("format") not in (_FORMAT, FORMAT) \
                or (content.get("format") == FORMAT and content.get("kind") != "gaussian"):
            raise ValueError(f"'{path}' is not a gennet Gaussian embedding model")
        config = content["config"] if content["format"] == FORMAT else content
        model = cls(tuple(config["shape"]), covariance=config["covariance"])
        model.load_state_dict(content["state_dict"], strict=False)  # m2 is not saved
        return model.to(map_location)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, covariance={self.covariance!r}, count={int(self.count)}"
