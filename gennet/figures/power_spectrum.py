"""Radially averaged power spectra and pixel histograms of an image and of samples of it (``synthesize.py``'s
``spectra.png``). A ``matplotlib.figure.Figure`` built without pyplot.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from ..stationary.metrics import radial_power_spectrum

__all__ = ["spectra_figure"]


def spectra_figure(original: torch.Tensor, rows: dict[str, torch.Tensor], titles: dict[str, str]) -> Figure:
    """Two panels, 12 × 4.5 inches: the radially averaged power spectra (log-log, radial frequency in cycles per image
    side, :func:`~gennet.stationary.metrics.radial_power_spectrum` averaged over samples and channels) and the pixel
    histograms of ``original: (C, H, W)`` (black) and of each method's samples ``rows[name]: (n, C, H, W)``
    (CPU tensors), labelled ``titles[name]``."""
    fig = Figure(figsize=(12, 4.5))
    spectra, histograms = fig.subplots(1, 2)
    radius = np.arange(1, min(original.shape[-2:]) // 2 + 1)
    spectra.loglog(radius, radial_power_spectrum(original[None].double()).mean(dim=(0, 1)).numpy(), "k", lw=2, label="original")
    values = original.flatten().cpu().numpy()
    bins = np.linspace(values.min() - 0.1 * np.ptp(values), values.max() + 0.1 * np.ptp(values), 80)
    histograms.hist(values, bins=bins, density=True, histtype="step", color="k", lw=2, label="original")
    for name, samples in rows.items():
        spectra.loglog(radius, radial_power_spectrum(samples.double()).mean(dim=(0, 1)).numpy(), label=titles[name])
        histograms.hist(samples.flatten().cpu().numpy(), bins=bins, density=True, histtype="step", lw=1.5, label=titles[name])
    spectra.set(xlabel="radial frequency (cycles per image side)", ylabel="power", title="radially averaged power spectrum")
    histograms.set(xlabel="pixel value", ylabel="density", title="pixel histogram")
    spectra.legend()
    histograms.legend()
    fig.tight_layout()
    return fig
