"""The networks of the flow-matching priors: a small convolutional velocity field on the coarse grid of ``w``
(:class:`ConvVelocity`) and a residual MLP on principal coordinates of ``w`` (:class:`MLPVelocity`).

``v_θ(x_t, t, c)``: ``x_t: (B, C_w, h, w)`` (the point on the path at time ``t``), ``t: (B,)`` in [0, 1], and the
conditioning ``c: (B, C_c + 1, h, w)`` (the clean conditioned channels, e.g. the low-pass channel of ``w``, and a
0/1 plane saying whether they are given) → a velocity ``(B, C_w, h, w)``. Residual blocks of two 3×3
convolutions at the grid's resolution (``h × w``: 8×8 for the digits and the 64² faces), GroupNorm, SiLU, the
time entering every block as a scale and shift of its normalized features (FiLM; Perez et al. 2018) from a
sinusoidal embedding (Vaswani et al. 2017). The last convolution starts at zero (the initial field is 0).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["ConvVelocity", "MLPVelocity", "time_embedding"]


def time_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoidal features of ``1000·t`` (Vaswani et al. 2017): ``t: (B,)`` in [0, 1] → ``(B, dim)`` float32."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = 1000 * t.float()[:, None] * frequencies[None]
    embedding = torch.cat([angles.sin(), angles.cos()], dim=1)
    return nn.functional.pad(embedding, (0, dim - 2 * half))


def _groups(width: int) -> int:
    return next(g for g in (8, 4, 2, 1) if width % g == 0)


class _Block(nn.Module):
    def __init__(self, width: int, time_dim: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.GroupNorm(_groups(width), width), nn.GroupNorm(_groups(width), width)
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.film = nn.Linear(time_dim, 2 * width)
        self.act = nn.SiLU()

    def forward(self, x: Tensor, time: Tensor) -> Tensor:
        scale, shift = self.film(time)[:, :, None, None].chunk(2, dim=1)
        h = self.conv1(self.act(self.norm1(x) * (1 + scale) + shift))
        return x + self.conv2(self.act(self.norm2(h)))


class ConvVelocity(nn.Module):
    """``v_θ(x_t, t, c)``; see the module docstring.

    Args:
        channels: ``C_w``, channels of ``w``.
        condition_channels: ``C_c``, channels of the conditioning (0: none; the 0/1 plane is added to them).
        width: channels of the hidden layers.
        depth: residual blocks.
        time_dim: size of the time embedding.

    Raises:
        ValueError: non-positive sizes.
    """

    def __init__(self, channels: int, condition_channels: int = 0, width: int = 128, depth: int = 4, time_dim: int = 128) -> None:
        super().__init__()
        if min(channels, width, depth, time_dim) < 1 or condition_channels < 0:
            raise ValueError(f"need channels, width, depth, time_dim >= 1 and condition_channels >= 0, "
                             f"got {channels}, {width}, {depth}, {time_dim}, {condition_channels}")
        self.channels, self.condition_channels, self.time_dim = channels, condition_channels, time_dim
        self.embed = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim), nn.SiLU())
        self.head = nn.Conv2d(channels + condition_channels + 1, width, 3, padding=1)
        self.blocks = nn.ModuleList(_Block(width, time_dim) for _ in range(depth))
        self.out = nn.Sequential(nn.GroupNorm(_groups(width), width), nn.SiLU(), nn.Conv2d(width, channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def time_embedding(self, t: Tensor) -> Tensor:
        """Sinusoidal features of ``1000·t``: ``(B,)`` → ``(B, time_dim)``."""
        return time_embedding(t, self.time_dim)

    def forward(self, x: Tensor, t: Tensor, condition: Tensor) -> Tensor:
        time = self.embed(self.time_embedding(t))
        h = self.head(torch.cat([x, condition], dim=1))
        for block in self.blocks:
            h = block(h, time)
        return self.out(h)


class MLPVelocity(nn.Module):
    """``v_θ(x_t, t)`` for points ``x_t: (B, d)`` (principal coordinates of ``w``), ``t: (B,)`` → ``(B, d)``.

    An input layer on ``[x_t, e(t)]`` (``e`` the sinusoidal embedding), ``depth`` pre-norm residual blocks
    ``h + W₂ SiLU(W₁ LayerNorm(h))`` (hidden size ``2·width``), then LayerNorm and an output layer that starts at zero
    (the initial field is 0).

    Args:
        dim: ``d``. width: size of the residual stream. depth: residual blocks. time_dim: size of the time embedding.

    Raises:
        ValueError: non-positive sizes.
    """

    def __init__(self, dim: int, width: int = 512, depth: int = 4, time_dim: int = 128) -> None:
        super().__init__()
        if min(dim, width, depth, time_dim) < 1:
            raise ValueError(f"need dim, width, depth, time_dim >= 1, got {dim}, {width}, {depth}, {time_dim}")
        self.dim, self.time_dim = dim, time_dim
        self.head = nn.Linear(dim + time_dim, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 2 * width), nn.SiLU(), nn.Linear(2 * width, width))
            for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, dim))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: Tensor, t: Tensor, condition: Tensor | None = None) -> Tensor:
        h = self.head(torch.cat([x, time_embedding(t, self.time_dim)], dim=1))
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)
