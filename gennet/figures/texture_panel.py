"""The texture-synthesis panel of ``synthesize.py`` (``panel.png``): the original, the samples of each method, and
their pixel histograms; and the 8-bit conversion its images (and the written sample PNGs) share.

Figures are ``matplotlib.figure.Figure`` objects built without pyplot (no global state, any backend).
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

__all__ = ["to_uint8", "texture_panel"]


def to_uint8(x: torch.Tensor, low: float, high: float) -> np.ndarray:
    """``(C, H, W)`` → ``(H, W)`` (one channel) or ``(H, W, 3)`` uint8, the range [low, high] mapped to [0, 255]
    (rounded, clipped)."""
    array = ((x.detach().cpu().float().numpy() - low) / max(high - low, 1e-12)).clip(0, 1)
    array = (array * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    return array[:, :, 0] if array.shape[2] == 1 else array


def texture_panel(original: torch.Tensor, rows: dict[str, torch.Tensor], titles: dict[str, str]) -> Figure:
    """One row per method: the original first, then its samples (each 3.2 inches wide, 100 dpi when saved as
    ``panel.png``), and at the end of the row the pixel histograms of the original (grey, filled) and of that row's
    samples (every channel pooled).

    Args:
        original: ``(C, H, W)`` on the CPU; its value range [min, max] is the grey scale of every image.
        rows: method name → samples ``(n, C, H, W)`` on the CPU.
        titles: method name → its label.
    """
    low, high = float(original.min()), float(original.max())
    n = max(len(samples) for samples in rows.values())
    H, W = original.shape[-2:]
    width = 3.2
    fig = Figure(figsize=((n + 2) * width, len(rows) * width * H / W + 0.6))
    axes = fig.subplots(len(rows), n + 2, squeeze=False)
    cmap = "gray" if original.shape[0] == 1 else None
    values = original.flatten().numpy()
    spread = max(float(np.ptp(values)), 1e-12)
    bins = np.linspace(values.min() - 0.1 * spread, values.max() + 0.1 * spread, 64)
    for r, (name, samples) in enumerate(rows.items()):
        axes[r, 0].imshow(to_uint8(original, low, high), cmap=cmap, vmin=0, vmax=255)
        axes[r, 0].set_title("original", fontsize=11)
        for i in range(n):
            ax = axes[r, i + 1]
            if i < len(samples):
                ax.imshow(to_uint8(samples[i], low, high), cmap=cmap, vmin=0, vmax=255)
                ax.set_title(f"{titles[name]} #{i}", fontsize=11)
        for ax in axes[r, : n + 1]:
            ax.axis("off")
        histogram = axes[r, n + 1]
        histogram.hist(values, bins=bins, density=True, histtype="stepfilled", color="0.75", label="original")
        for i, sample in enumerate(samples):
            histogram.hist(sample.flatten().numpy().clip(bins[0], bins[-1]), bins=bins, density=True, histtype="step", lw=1.2,
                           label=f"#{i}" if len(samples) > 1 else titles[name])
        histogram.set_title(f"pixel histograms: {titles[name]}", fontsize=10)
        histogram.set_xlabel("pixel value", fontsize=9)
        histogram.legend(fontsize=8)
    fig.tight_layout()
    return fig
