"""Spherical linear interpolation (slerp; Shoemake 1985): the path between two Gaussian noises that keeps the norm such
noises have, used to interpolate along a prior's noise space (``interpolate.py`` with a flow prior)."""

from __future__ import annotations

import torch

__all__ = ["slerp"]


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of ``a, b: (P, …)`` at times ``t: (S,)`` → ``(P, S, …)`` (Shoemake 1985): the angle
    between ``a`` and ``b`` is divided evenly; nearly parallel pairs fall back to linear interpolation."""
    flat_a, flat_b = a.flatten(1), b.flatten(1)
    cos = (flat_a * flat_b).sum(1) / (flat_a.norm(dim=1) * flat_b.norm(dim=1)).clamp_min(1e-12)
    angle = torch.arccos(cos.clamp(-1, 1))[:, None]  # (P, 1)
    t = t[None, :]
    sin = torch.sin(angle)
    safe = sin.abs() > 1e-6
    wa = torch.where(safe, torch.sin((1 - t) * angle) / sin.where(safe, torch.ones_like(sin)), 1 - t)
    wb = torch.where(safe, torch.sin(t * angle) / sin.where(safe, torch.ones_like(sin)), t)
    shape = (*wa.shape, *([1] * (a.ndim - 1)))
    return wa.reshape(shape) * a.unsqueeze(1) + wb.reshape(shape) * b.unsqueeze(1)
