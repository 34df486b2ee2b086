"""Legible grids: every image at least 64 pixels by nearest-neighbour repetition, intensities as make_grid's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.utils import make_grid

from gennet.figures import grid_to_pil, image_grid, save_image_grid, upscale_nearest


def test_nearest_upscaling_repeats_pixels_by_the_smallest_sufficient_factor():
    images = torch.randn(3, 2, 28, 30)
    big = upscale_nearest(images)
    assert big.shape == (3, 2, 28 * 3, 30 * 3)  # ⌈64 / 28⌉ = 3
    torch.testing.assert_close(big[..., ::3, ::3], images, rtol=0, atol=0)
    for i in range(3):
        for j in range(3):
            assert torch.equal(big[..., i::3, j::3], images)  # each pixel an exact 3×3 block
    large = torch.randn(2, 1, 64, 80)
    assert upscale_nearest(large) is large  # already legible
    assert upscale_nearest(torch.randn(1, 1, 16, 16)).shape[-1] == 64
    with pytest.raises(ValueError, match="expected images"):
        upscale_nearest(torch.randn(3, 8, 8))


def test_grid_is_make_grid_of_the_upscaled_images(tmp_path):
    images = torch.rand(10, 1, 32, 32) * 2.4 - 1.2  # values beyond [-1, 1] are clipped
    grid = image_grid(images, nrow=4)
    assert grid.shape == (3, 3 * (64 + 2) + 2, 4 * (64 + 2) + 2)  # 3 rows of 4, 2-pixel padding
    reference = make_grid(upscale_nearest(images.clamp(-1, 1)), nrow=4, normalize=True, value_range=(-1, 1))
    torch.testing.assert_close(grid, reference)
    cell = grid[0, 2 : 2 + 64, 2 + 66 : 2 + 66 + 64]  # row 0, column 1: image 1
    torch.testing.assert_close(cell[::2, ::2], (images[1, 0].clamp(-1, 1) + 1) / 2)
    # atoms: each image to its own range
    atoms = torch.randn(4, 1, 16, 16) * torch.tensor([1e-3, 1.0, 10.0, 100.0]).view(4, 1, 1, 1)
    each = image_grid(atoms, nrow=2, value_range=None, scale_each=True, pad_value=1.0)
    for k in range(4):
        r, c = divmod(k, 2)
        block = each[0, 2 + r * 66 : r * 66 + 66, 2 + c * 66 : c * 66 + 66]
        assert block.min() == 0 and block.max() == 1
    # on disk: the same grid, rounded to 8 bits
    path = tmp_path / "grid.png"
    save_image_grid(images, path, nrow=4)
    disk = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255
    assert np.abs(disk - grid.permute(1, 2, 0).numpy()).max() <= 0.5 / 255 + 1e-6
    assert grid_to_pil(grid).size == (grid.shape[2], grid.shape[1])
