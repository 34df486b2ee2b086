"""Figures of what an invertible classifier shows (DESIGN §14; ``analyze.py``'s ``invertibility``
section, ``notebooks/07_invertible.ipynb``): reconstructions from the last layer, interpolations, editions and
the local conditioning.

Figures are ``matplotlib.figure.Figure`` objects built without pyplot (save with ``fig.savefig``)."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import Tensor

from .image_grid import image_grid

__all__ = ["reconstruction_figure", "interpolation_figure", "edition_figure", "conditioning_figure"]


def _show(ax, images: Tensor, nrow: int, title: str = "") -> None:
    grid = image_grid(images, nrow=nrow, min_size=64)
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=11, loc="left")


def reconstruction_figure(x: Tensor, rebuilt: Tensor, max_abs: float, title: str = "") -> Figure:
    """Images ``x``, ``Φ⁻¹(Φ(x))`` and ``|x − Φ⁻¹Φx|`` scaled to its own maximum (``(B, C, H, W)`` in [−1, 1])."""
    B = x.shape[0]
    error = (x - rebuilt).abs()
    scaled = error / error.max().clamp_min(1e-30) * 2 - 1
    fig = Figure(figsize=(max(8, 1.1 * B), 4.8), dpi=120)
    axes = fig.subplots(3, 1)
    _show(axes[0], x, B, "x")
    _show(axes[1], rebuilt, B, "Φ⁻¹(Φ(x)), inverted from the last layer")
    _show(axes[2], scaled, B, f"|x − Φ⁻¹Φx| scaled to its maximum, {max_abs:.2e}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def interpolation_figure(through_features: Tensor, through_pixels: Tensor, labels: Tensor | None = None, title: str = "") -> Figure:
    """For each pair, the straight line in pixels (top) and in the final representation, inverted (bottom).

    ``through_features``, ``through_pixels``: ``(P, T, C, H, W)``; ``labels`` ``(P, T)``: the class predicted for the
    images of the bottom rows (shown above them)."""
    P, T = through_features.shape[:2]
    fig = Figure(figsize=(max(8, 1.2 * T), 2.6 * P), dpi=120)
    axes = fig.subplots(2 * P, 1, squeeze=False)[:, 0]
    for p in range(P):
        _show(axes[2 * p], through_pixels[p], T, f"pair {p}: (1 − t) x_a + t x_b")
        caption = f"pair {p}: Φ⁻¹((1 − t) Φ(x_a) + t Φ(x_b))"
        if labels is not None:
            caption += "   predicted: " + " ".join(str(int(c)) for c in labels[p])
        _show(axes[2 * p + 1], through_features[p], T, caption)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def edition_figure(x: Tensor, edited: Tensor, source: Tensor, target: Tensor, predicted: Tensor, alpha: Tensor,
                   title: str = "") -> Figure:
    """Originals (top) and their editions toward another class (bottom), with ``source → target: predicted (α)``."""
    B = x.shape[0]
    fig = Figure(figsize=(max(8, 1.25 * B), 3.6), dpi=120)
    axes = fig.subplots(2, 1)
    _show(axes[0], x, B, "x (class " + " ".join(str(int(s)) for s in source) + ")")
    captions = [f"{int(t)}:{int(p)}" + ("" if torch.isnan(a) else f"@{float(a):.2f}") for t, p, a in zip(target, predicted, alpha)]
    _show(axes[1], edited, B, "Φ⁻¹(Φ(x) + α(μ_target − μ_source)), target:predicted@α  " + "  ".join(captions))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def conditioning_figure(sigma_forward: Tensor, sigma_inverse: Tensor, title: str = "") -> Figure:
    """``σ_max(∂Φ)``, ``σ_max(∂Φ⁻¹)`` and ``κ`` (their product, ≥ 1) at each test point, log scale."""
    kappa = sigma_forward * sigma_inverse
    fig = Figure(figsize=(9, 4.5), dpi=120)
    ax = fig.subplots()
    index = range(len(kappa))
    ax.plot(index, sigma_forward.tolist(), "o", label="σ_max(∂Φ(x))")
    ax.plot(index, sigma_inverse.tolist(), "s", label="σ_max(∂Φ⁻¹(Φ(x)))")
    ax.plot(index, kappa.tolist(), "^", label=f"κ = product (median {kappa.median().item():.3g})")
    ax.axhline(1, color="gray", linewidth=0.8)
    ax.set(yscale="log", xlabel="test image", ylabel="singular value", title=title or "Local conditioning of Φ")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig
