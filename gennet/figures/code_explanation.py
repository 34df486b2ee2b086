"""One image explained by its sparse code (``explain.py``): the partial reconstructions from the low-pass part plus the
1, 2, 4, 8, … largest terms with their PSNR, and the ``top_k`` largest terms ``z_k[n]·U⁻¹(0, D e_{k,n})`` — atom ``k``
drawn in image space at its coarse position ``n`` with its weight (:func:`gennet.models.explanation.explain_code`).

A ``matplotlib.figure.Figure`` built without pyplot (no global state, any backend).
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from ..metrics.psnr import psnr
from ..models.explanation import CodeExplanation

__all__ = ["partial_counts", "explanation_figure"]


def partial_counts(total: int) -> list[int]:
    """The numbers of largest terms of the partial reconstructions: 0, 1, 2, 4, 8, … below ``total``, then ``total``
    (the whole code)."""
    counts, m = [0], 1
    while m < total:
        counts.append(m)
        m *= 2
    return counts + [total]


def explanation_figure(e: CodeExplanation, top_k: int, title: str) -> Figure:
    """Partial reconstructions (top row, each labelled with its PSNR in dB against the image) and the ``top_k``
    largest terms (grid below, each on its own symmetric colour scale, 0 = grey), 1.7 × 2.3 inches per cell at
    100 dpi; ``title`` above."""

    def show(ax, image: torch.Tensor, label: str, signed: bool = False) -> None:
        image = image.detach().float().cpu()
        picture = image[0] if image.shape[0] == 1 else ((image.permute(1, 2, 0) + 1) / 2).clamp(0, 1)
        if signed:  # a term: its own symmetric range, 0 = grey
            scale = float(image.abs().max()) or 1.0
            ax.imshow(picture if image.shape[0] == 1 else (image.permute(1, 2, 0) / (2 * scale) + 0.5).clamp(0, 1),
                      cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
        else:
            ax.imshow(picture, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(label, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])

    counts = partial_counts(len(e.weights))
    shown = min(top_k, len(e.weights))
    columns = max(len(counts) + 1, 8)
    term_rows = math.ceil(shown / columns)
    fig = Figure(figsize=(1.7 * columns, 2.3 * (1 + term_rows)), dpi=100, layout="constrained")
    axes = fig.subplots(1 + term_rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    show(axes[0, 0], e.image, "image x")
    axes[0, 0].axis("on")
    for j, m in enumerate(counts, start=1):
        label = "low-pass part" if m == 0 else (f"all {m} terms" if m == len(e.weights) else f"{m} largest")
        show(axes[0, j], e.partial(m), f"{label}\n{psnr(e.partial(m), e.image):.1f} dB")
        axes[0, j].axis("on")
    total = float(e.energy.sum()) or 1.0
    for i in range(shown):
        ax = axes[1 + i // columns, i % columns]
        ax.axis("on")
        label = f"#{i + 1} atom {int(e.atoms[i])} @({int(e.rows[i])},{int(e.cols[i])})\nz={float(e.weights[i]):.3g} {100 * float(e.energy[i]) / total:.0f}%"
        show(ax, e.terms[i], label, signed=True)
    fig.suptitle(title, fontsize=10)
    return fig
