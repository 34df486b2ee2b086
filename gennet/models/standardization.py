"""Per-channel standardization with train-set statistics computed in one streaming pass (DESIGN §7).

Zarka et al. (ICLR 2020, §4) standardize every scattering channel by its mean and standard deviation
over the training set before the learned projection. The statistics are accumulated batch by batch
with Chan, Golub & LeVeque's pairwise update of ``(count, mean, M2)`` in float64 — numerically stable
for millions of images, where the naive ``E[x²] − E[x]²`` loses every digit — and stored as buffers,
so they travel with the checkpoint and are never recomputed at evaluation.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["Standardization"]


class Standardization(nn.Module):
    """``(x − mean_c) / std_c`` per channel ``c``, with ``mean``/``std`` over the training set; or PCA whitening.

    Input ``(B, C, *spatial)`` of any float dtype; statistics run over the batch and the spatial
    dimensions. Buffers (saved in the ``state_dict``): ``count`` (number of values per channel, float64
    0-dim), ``mean`` ``(C,)`` and ``m2`` ``(C,)`` (sum of squared deviations), float64. ``std`` is the
    population standard deviation ``sqrt(m2 / count)``, floored at ``eps`` (constant channels pass as
    ``x − mean``). Before any :meth:`update_` (``count = 0``) the module is the identity.

    With ``whiten=True``, ``m2`` is the ``(C, C)`` matrix of cross-products and the output is the PCA
    whitening ``Λ^{-1/2} Vᵀ (x − mean)`` along channels (``Σ = V Λ Vᵀ`` the channel covariance pooled over
    positions, eigenvalues floored at ``eps²``; output channels in decreasing order of variance), the
    matrix ``Λ^{-1/2} Vᵀ`` kept in the buffer ``whitening``.

    Source: T. Chan, G. Golub, R. LeVeque, "Algorithms for computing the sample variance", The American
    Statistician 37 (1983), eq. 2.1 (pairwise combination); Zarka et al., ICLR 2020, §4.

    Args:
        num_channels: ``C``.
        eps: floor of ``std`` (in the units of the input).

    Raises:
        ValueError: ``num_channels < 1`` or ``eps <= 0``; from :meth:`update_` / ``forward``, an input
            whose dimension 1 is not ``C``.
    """

    def __init__(self, num_channels: int, eps: float = 1e-6, whiten: bool = False) -> None:
        super().__init__()
        if num_channels < 1:
            raise ValueError(f"num_channels must be >= 1, got {num_channels}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.num_channels, self.eps, self.whiten = int(num_channels), float(eps), bool(whiten)
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(num_channels, dtype=torch.float64))
        m2_shape = (num_channels, num_channels) if whiten else (num_channels,)
        self.register_buffer("m2", torch.zeros(m2_shape, dtype=torch.float64))
        if whiten:
            self.register_buffer("whitening", torch.eye(num_channels, dtype=torch.float64))

    @property
    def fitted(self) -> bool:
        """Whether statistics have been accumulated (``count > 0``)."""
        return bool(self.count > 0)

    @property
    def std(self) -> Tensor:
        """``sqrt(m2 / count)`` floored at ``eps``, float64 ``(C,)`` (ones before fitting)."""
        if not self.fitted:
            return torch.ones_like(self.mean)
        variance = self.m2.diagonal() if self.whiten else self.m2
        return (variance / self.count).sqrt().clamp_min(self.eps)

    def _check(self, x: Tensor) -> None:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"expected (B, {self.num_channels}, ...) input, got {tuple(x.shape)}")

    def reset_(self) -> None:
        """Forget the statistics (back to the identity)."""
        self.count.zero_()
        self.mean.zero_()
        self.m2.zero_()
        if self.whiten:
            self.whitening.copy_(torch.eye(self.num_channels, dtype=torch.float64))

    @torch.no_grad()
    def update_(self, x: Tensor) -> None:
        """Merge the statistics of one batch ``(B, C, *spatial)`` into the running ones (Chan et al. eq. 2.1)."""
        self._check(x)
        values = x.detach().to(torch.float64).transpose(0, 1).reshape(self.num_channels, -1)
        centered = values - values.mean(1, keepdim=True)
        self.merge_(
            torch.tensor(float(values.shape[1]), dtype=torch.float64, device=values.device),
            values.mean(1),
            centered @ centered.T if self.whiten else centered.square().sum(1),
        )

    @torch.no_grad()
    def merge_(self, count: Tensor, mean: Tensor, m2: Tensor) -> None:
        """Combine with another set of statistics ``(count, mean (C,), m2 (C,))`` (a batch, or another rank's)."""
        count, mean, m2 = (t.to(dtype=torch.float64, device=self.mean.device) for t in (count, mean, m2))
        total = self.count + count
        if not bool(total > 0):
            return
        delta = mean - self.mean
        self.mean.add_(delta * (count / total))
        outer = delta[:, None] * delta[None, :] if self.whiten else delta.square()
        self.m2.add_(m2 + outer * (self.count * count / total))
        self.count.copy_(total)
        if self.whiten:
            values, vectors = torch.linalg.eigh(self.m2 / self.count)
            order = values.argsort(descending=True)
            scale = values[order].clamp_min(self.eps**2).rsqrt()
            self.whitening.copy_(scale[:, None] * vectors[:, order].T)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, *spatial)`` → standardized, same shape and dtype."""
        self._check(x)
        if not self.fitted:
            return x
        shape = (1, self.num_channels) + (1,) * (x.ndim - 2)
        centered = x - self.mean.to(x.dtype).reshape(shape)
        if self.whiten:
            return torch.einsum("dc,bc...->bd...", self.whitening.to(x.dtype), centered)
        return centered / self.std.to(x.dtype).reshape(shape)

    def extra_repr(self) -> str:
        return f"num_channels={self.num_channels}, whiten={self.whiten}, count={int(self.count)}"
