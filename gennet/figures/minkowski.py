"""The Minkowski functionals of the excursion sets of an image and of samples of it, as functions of the threshold
(``synthesize.py``'s ``minkowski.png``, ``benchmarks/bench_fields.py``'s panels). A ``matplotlib.figure.Figure`` built
without pyplot.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from ..stationary.shapes import minkowski_functionals, minkowski_thresholds

__all__ = ["minkowski_axes", "minkowski_figure"]

#: The three functionals, per pixel, as plotted.
LABELS = ("area fraction", "boundary length / pixel", "Euler characteristic / 1000 pixels")
FACTORS = (1.0, 1.0, 1000.0)


def minkowski_axes(axes, original: torch.Tensor, rows: dict[str, torch.Tensor], titles: dict[str, str], n: int = 33) -> None:
    """Draw on three matplotlib ``axes`` the functionals of ``original (C, H, W)`` (black, first channel) and the mean over
    each method's samples ``rows[name] (N, C, H, W)`` (one colour per method, a band from their min to max), at ``n``
    thresholds inside the original's range (:func:`~gennet.stationary.shapes.minkowski_thresholds`)."""
    original = original[:1].detach().double().cpu()
    thresholds = minkowski_thresholds(original, n)
    reference = minkowski_functionals(original[None], thresholds)[0, 0]  # (3, T)
    t = thresholds.numpy()
    for k, ax in enumerate(axes):
        for name, samples in rows.items():
            curves = minkowski_functionals(samples[:, :1].detach().double().cpu(), thresholds)[:, 0, k] * FACTORS[k]  # (N, T)
            line = ax.plot(t, curves.mean(dim=0).numpy(), lw=1.5, label=titles.get(name, name))[0]
            if len(curves) > 1:
                ax.fill_between(t, curves.min(dim=0).values.numpy(), curves.max(dim=0).values.numpy(), color=line.get_color(), alpha=0.2)
        ax.plot(t, reference[k].numpy() * FACTORS[k], "k", lw=2, label="original")
        ax.set(xlabel="threshold t", title=LABELS[k])
        ax.tick_params(labelsize=8)
    axes[0].legend(fontsize=8)


def minkowski_figure(original: torch.Tensor, rows: dict[str, torch.Tensor], titles: dict[str, str]) -> Figure:
    """Three panels, 15 × 4.2 inches: area, boundary length and Euler characteristic of {x > t} against t, for the
    original ``(C, H, W)`` and each method's samples ``rows[name] (N, C, H, W)`` (CPU tensors; first channel)."""
    fig = Figure(figsize=(15, 4.2))
    minkowski_axes(fig.subplots(1, 3), original, rows, titles)
    fig.tight_layout()
    return fig
