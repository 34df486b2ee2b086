"""Reading the image a user names (``image=PATH`` or ``image=skimage:NAME``) and cropping it, with one clear line
for bad input (``synthesize.py``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import ConfigError

__all__ = ["load_image", "center_crop", "spread_crops"]


def load_image(spec: str, grayscale: bool = False) -> np.ndarray:
    """The image ``spec`` (a path, or ``skimage:NAME`` for ``skimage.data.NAME()``) as float32 ``(H, W, C)`` in [0, 1].

    RGBA drops its alpha; ``grayscale`` converts colour to luminance (ITU-R 601, as PIL's ``L``).

    Raises:
        ConfigError: ``image`` — a missing or unreadable file, an unknown scikit-image name, not a 2-D image.
    """
    from PIL import Image, UnidentifiedImageError

    spec = str(spec)
    if spec.startswith("skimage:"):
        name = spec.split(":", 1)[1]
        from skimage import data

        loader = getattr(data, name, None)
        if not name or name.startswith("_") or not callable(loader):
            raise ConfigError("image", f"unknown scikit-image image {name!r} (e.g. skimage:brick, skimage:grass, skimage:gravel, skimage:astronaut)")
        try:
            array = np.asarray(loader())
        except Exception as error:  # a loader that needs a download or arguments
            raise ConfigError("image", f"skimage.data.{name}() failed: {str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ConfigError("image", f"no such file: '{spec}'")
        try:
            with Image.open(path) as image:
                image.load()
                if image.mode not in ("L", "RGB", "I;16", "I", "F"):
                    image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
                array = np.asarray(image)
        except (UnidentifiedImageError, OSError) as error:
            raise ConfigError("image", f"cannot read '{spec}' as an image ({type(error).__name__})") from None
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or min(array.shape[:2]) < 2:
        raise ConfigError("image", f"expected a 2-D grayscale or colour image, got an array of shape {array.shape}")
    array = array[:, :, :3]
    if np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32) / float(np.iinfo(array.dtype).max if array.max() > 255 else 255)
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ConfigError("image", f"'{spec}' has non-finite pixel values")
    if grayscale and array.shape[2] == 3:
        array = (array @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[:, :, None]
    return array


def center_crop(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The central ``size = (H, W)`` crop of an ``(h, w, C)`` image.

    Raises:
        ConfigError: ``size`` — the image is smaller than the crop.
    """
    h, w = array.shape[:2]
    H, W = size
    if H > h or W > w:
        raise ConfigError("size", f"the image is {h}×{w} pixels, smaller than the crop {H}×{W}; choose a smaller size")
    top, left = (h - H) // 2, (w - W) // 2
    return array[top : top + H, left : left + W]


def spread_crops(array: np.ndarray, size: tuple[int, int], n: int) -> list[np.ndarray]:
    """``n`` crops of ``size = (H, W)`` from an ``(h, w, C)`` image, their corners evenly spread over it on a grid of
    ⌈√n⌉ rows (the central crop for ``n = 1``; crops overlap when the image is smaller than the grid).

    Raises:
        ConfigError: ``size`` — the image is smaller than one crop.
    """
    center_crop(array, size)  # the size check
    h, w = array.shape[:2]
    H, W = size
    rows = math.ceil(math.sqrt(n))
    columns = math.ceil(n / rows)
    tops = np.linspace(0, h - H, rows + 2)[1:-1] if rows > 1 else [(h - H) / 2]
    lefts = np.linspace(0, w - W, columns + 2)[1:-1] if columns > 1 else [(w - W) / 2]
    corners = [(int(top), int(left)) for top in tops for left in lefts][:n]
    return [array[top : top + H, left : left + W] for top, left in corners]
