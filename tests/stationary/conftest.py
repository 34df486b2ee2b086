"""Fixtures of the tests of :mod:`gennet.stationary`."""

from __future__ import annotations

import pytest
import torch

from tests.stationary.textures import texture_crop


@pytest.fixture(scope="session")
def brick64() -> torch.Tensor:
    """A 64² crop of scikit-image's brick texture, ``(1, 64, 64)`` float64 in [0, 1]."""
    return texture_crop("brick", (64, 64), 100, 100)
