"""Image grids large enough to read: torchvision's ``make_grid`` after a nearest-neighbour upscaling.

A 32×32 digit is a smudge in a PNG viewer or in wandb; every grid gennet writes (training callbacks,
``sample.py``, ``interpolate.py``, coarse-grain rows) goes through :func:`image_grid`, which repeats each
pixel ``s × s`` times (nearest neighbour: no blur, no new values) with the smallest integer ``s`` that
makes every image at least :data:`MIN_IMAGE_SIZE` pixels on its shorter side, then lays the images out
with :func:`torchvision.utils.make_grid`.
"""

from __future__ import annotations

import math
import os

import torch
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid

from ..files import save_image_atomic

__all__ = ["MIN_IMAGE_SIZE", "grid_to_pil", "image_grid", "save_image_grid", "upscale_nearest"]

MIN_IMAGE_SIZE = 64  #: pixels: the shorter side of every image in a grid written by gennet is at least this


def upscale_nearest(images: Tensor, min_size: int = MIN_IMAGE_SIZE) -> Tensor:
    """``(B, C, H, W) → (B, C, s·H, s·W)``, each pixel repeated ``s × s`` times, ``s = ⌈min_size / min(H, W)⌉``
    (``s = 1`` when the images are already large enough). Any dtype; values are unchanged.

    Raises:
        ValueError: ``images`` is not 4-D or ``min_size < 1``.
    """
    if images.dim() != 4:
        raise ValueError(f"expected images (B, C, H, W), got {tuple(images.shape)}")
    if min_size < 1:
        raise ValueError(f"min_size must be >= 1, got {min_size}")
    scale = max(1, math.ceil(min_size / min(images.shape[-2:])))
    if scale == 1:
        return images
    return images.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)


def image_grid(
    images: Tensor,
    nrow: int = 8,
    value_range: tuple[float, float] | None = (-1.0, 1.0),
    scale_each: bool = False,
    min_size: int = MIN_IMAGE_SIZE,
    padding: int = 2,
    pad_value: float = 0.0,
) -> Tensor:
    """A legible grid of ``images``: ``(B, C, H, W)`` (``C`` = 1 or 3, any float dtype, any device) → ``(3, H', W')``
    float32 in [0, 1] on the CPU, ``nrow`` images per row, each upscaled by :func:`upscale_nearest`.

    Intensities: ``value_range=(lo, hi)`` maps ``lo → 0`` and ``hi → 1`` for all images alike (values outside
    are clipped; gennet's images live in [−1, 1], the default); ``value_range=None`` with ``scale_each=True``
    maps each image's own min..max to 0..1 (atoms, whose scale is arbitrary); ``value_range=None`` alone
    maps the batch's min..max. ``padding`` pixels of ``pad_value`` separate the (upscaled) images, as in
    :func:`torchvision.utils.make_grid`.

    Raises:
        ValueError: from :func:`upscale_nearest`.
    """
    images = upscale_nearest(images.detach().float().cpu(), min_size)
    if value_range is not None:
        images = images.clamp(*value_range)
    return make_grid(images, nrow=nrow, padding=padding, normalize=True, value_range=value_range,
                     scale_each=scale_each, pad_value=pad_value)


def save_image_grid(images: Tensor, path: str | os.PathLike, **kwargs) -> Tensor:
    """:func:`image_grid` of ``images`` (keywords as there) written as a PNG to ``path``; returns the grid."""
    grid = image_grid(images, **kwargs)
    save_image_atomic(grid_to_pil(grid), path, format="PNG")
    return grid


def grid_to_pil(grid: Tensor) -> Image.Image:
    """A ``(3, H, W)`` grid in [0, 1] (from :func:`image_grid`) as an 8-bit RGB PIL image (rounded to the nearest
    level, as :func:`torchvision.utils.save_image` does), e.g. for the frames of a GIF."""
    return Image.fromarray(grid.mul(255).add(0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy())
