"""Real texture crops for the tests of :mod:`gennet.stationary` (scikit-image ships them; no download)."""

from __future__ import annotations

import numpy as np
import torch


def texture_crop(name: str, size: tuple[int, int], top: int = 0, left: int = 0) -> torch.Tensor:
    """``skimage.data.<name>()`` (brick, grass, gravel: 512² grayscale) cropped at (top, left), float64 in [0, 1], ``(1, H, W)``."""
    from skimage import data

    image = getattr(data, name)().astype(np.float64) / 255
    return torch.from_numpy(image[top : top + size[0], left : left + size[1]].copy())[None]
