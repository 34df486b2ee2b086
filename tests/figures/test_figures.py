"""The figures the scripts write: legible sizes (inches × 100 dpi), one axis per image, no pyplot state left behind,
and the 8-bit conversion of the written samples."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from gennet.figures.code_explanation import partial_counts
from gennet.figures.power_spectrum import spectra_figure
from gennet.figures.texture_panel import texture_panel, to_uint8


def _rows():
    g = torch.Generator().manual_seed(0)
    original = torch.rand(1, 32, 48, generator=g)
    return original, {"gaussian": torch.rand(2, 1, 32, 48, generator=g), "phase_harmonic": torch.rand(1, 1, 32, 48, generator=g)}


def test_panel_and_spectra_sizes(tmp_path):
    import matplotlib.pyplot as plt

    original, rows = _rows()
    titles = {"gaussian": "Gaussian", "phase_harmonic": "ours"}
    panel = texture_panel(original, rows, titles)
    assert len(panel.axes) == 2 * (2 + 2)  # per row: the original, 2 sample slots, the histograms
    panel.savefig(tmp_path / "panel.png", dpi=100)
    assert Image.open(tmp_path / "panel.png").size == (int(4 * 3.2 * 100), int((2 * 3.2 * 32 / 48 + 0.6) * 100))  # matplotlib truncates
    spectra_figure(original, rows, titles).savefig(tmp_path / "spectra.png", dpi=100)
    assert Image.open(tmp_path / "spectra.png").size == (1200, 450)
    assert plt.get_fignums() == []  # built without pyplot


def test_to_uint8_maps_the_range_and_rounds():
    x = torch.tensor([[[0.0, 0.5, 1.0, 2.0]]])
    np.testing.assert_array_equal(to_uint8(x, 0.0, 1.0), np.array([[0, 128, 255, 255]], dtype=np.uint8))
    assert to_uint8(torch.rand(3, 4, 5), 0, 1).shape == (4, 5, 3)


def test_partial_counts():
    assert partial_counts(0) == [0, 0]
    assert partial_counts(1) == [0, 1]
    assert partial_counts(9) == [0, 1, 2, 4, 8, 9]
    assert partial_counts(8) == [0, 1, 2, 4, 8]
