"""Dataset layouts built from real images that ship with scikit-image (no download), for the tests and
the benchmarks (``benchmarks/compare_decoders.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CELEBA_SIZE = (178, 218)  # (width, height) of an aligned CelebA image
CELEBA_PARTITION = {"train": 80, "valid": 10, "test": 10}  # the first 100 LFW images are faces


def _uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8) if image.dtype != np.uint8 else image


def lfw_faces(count: int) -> list[Image.Image]:
    """The first ``count`` faces of ``skimage.data.lfw_subset()`` (25×25 grayscale) as PIL images."""
    from skimage.data import lfw_subset

    faces = lfw_subset()[:count]
    return [Image.fromarray(_uint8(face)) for face in faces]


def write_celeba(root: Path, partition: dict[str, int] | None = None) -> Path:
    """A CelebA aligned layout with 100 real faces (LFW subset of scikit-image, upscaled to 178×218 RGB
    JPEG): ``root/celeba/img_align_celeba/000001.jpg … 000100.jpg`` and
    ``root/celeba/list_eval_partition.txt`` with ``partition`` (default :data:`CELEBA_PARTITION`: 80 train (0),
    10 val (1), 10 test (2); at most 100 in all), in file order as in the official file. No annotation files, so
    torchvision's CelebA rejects it (fallback reader). Returns ``root``."""
    partition = CELEBA_PARTITION if partition is None else partition
    if sum(partition.values()) > 100 or set(partition) != set(CELEBA_PARTITION):
        raise ValueError(f"partition: counts of {sorted(CELEBA_PARTITION)} summing to at most 100, got {partition}")
    image_dir = root / "celeba" / "img_align_celeba"
    image_dir.mkdir(parents=True)
    codes = [code for code, count in enumerate(partition[k] for k in CELEBA_PARTITION) for _ in range(count)]
    lines = []
    for number, (face, code) in enumerate(zip(lfw_faces(len(codes)), codes), start=1):
        name = f"{number:06d}.jpg"
        face.resize(CELEBA_SIZE, Image.Resampling.BILINEAR).convert("RGB").save(image_dir / name, quality=90)
        lines.append(f"{name} {code}\n")
    (root / "celeba" / "list_eval_partition.txt").write_text("".join(lines))
    return root
