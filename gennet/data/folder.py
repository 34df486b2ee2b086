"""Any directory of images, searched recursively (LFW, ImageNet folders, your own photographs)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension

from gennet.data.base import (
    ImageDataModule,
    ImageFileDataset,
    Split,
    check_directory,
    image_transform,
)
from gennet.errors import ConfigError, check_int


def find_images(root: Path) -> list[Path]:
    """All files under ``root`` (recursively, following links) with an image extension of torchvision's
    ``IMG_EXTENSIONS`` (.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp, any case), sorted."""
    return sorted(
        Path(directory) / name
        for directory, _, names in os.walk(root, followlinks=True)
        for name in names
        if has_file_allowed_extension(name, IMG_EXTENSIONS)
    )


def check_fraction(key: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(key, f"must be a number in [0, 1), got {value!r}")
    return float(value)


class ImageFolderDataModule(ImageDataModule):
    """Every image under a directory (recursively), center-cropped to a square and resized.

    Reads the files under ``root`` whose extension is one of torchvision's ``IMG_EXTENSIONS``
    (.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp, case-insensitive); other files are ignored.
    Transform (torchvision): convert to RGB (``channels=3``) or grayscale (``channels=1``), take the
    largest centered square and resize it to ``image_size`` (resize the shorter side, center crop),
    map to [-1, 1]. Items are ``(image, label)``: ``image`` float32 ``(channels, image_size, image_size)``,
    ``label`` int64 — 0, or with ``class_subfolders=True`` the index of the image's top-level subfolder
    in sorted order (torchvision's ``ImageFolder`` convention ``root/<class>/…``; names in ``classes``).

    Split: the sorted file list is permuted with ``seed``; the first ``round(val_fraction · N)`` images
    are the validation set, the next ``round(test_fraction · N)`` the test set, the rest training.
    A positive fraction gets at least one image. ``split_files`` holds the paths of each split.

    Args:
        root: the directory to search.
        batch_size: images per batch (>= 1).
        image_size: output side (>= 1; e.g. 64, or 224 for ImageNet).
        num_workers: dataloader workers (>= 0).
        seed: seeds the split and the training shuffle.
        channels: 3 (RGB, default) or 1 (grayscale).
        val_fraction, test_fraction: shares of the images held out, each in [0, 1), sum < 1.
        class_subfolders: label images by their top-level subfolder (see above).
        on_corrupt: an unreadable image is skipped with a counted warning (``"skip"``) or stops the run
            naming the file (``"error"``).

    Raises:
        ConfigError: ``"data.root"`` if ``root`` is missing, not a directory, holds no image, holds too
            few images for the split, or (``class_subfolders``) holds images outside a subfolder;
            ``"data.image_size"`` if < 1; ``"data.channels"`` if not 1 or 3; ``"data.val_fraction"`` /
            ``"data.test_fraction"`` if outside [0, 1) or summing to >= 1; ``"data.batch_size"`` /
            ``"data.num_workers"`` as in :class:`~gennet.data.base.ImageDataModule`.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        batch_size: int = 64,
        image_size: int = 64,
        num_workers: int = 2,
        seed: int = 0,
        channels: int = 3,
        val_fraction: float = 0.05,
        test_fraction: float = 0.05,
        class_subfolders: bool = False,
        on_corrupt: str = "skip",
    ) -> None:
        super().__init__(batch_size, image_size, num_workers, seed, on_corrupt)
        self.save_hyperparameters(logger=False)
        check_int("data.image_size", image_size, 1)
        if channels not in (1, 3) or isinstance(channels, bool):
            raise ConfigError("data.channels", f"must be 3 (RGB) or 1 (grayscale), got {channels!r}")
        self.num_channels = channels
        val_fraction = check_fraction("data.val_fraction", val_fraction)
        test_fraction = check_fraction("data.test_fraction", test_fraction)
        if val_fraction + test_fraction >= 1:
            message = f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}"
            raise ConfigError("data.test_fraction", message)
        self.root = check_directory(root)

        files = find_images(self.root)
        if not files:
            raise ConfigError("data.root", f"directory '{self.root}' contains no images ({' '.join(IMG_EXTENSIONS)})")
        n = len(files)
        n_val, n_test = (max(1, round(f * n)) if f > 0 else 0 for f in (val_fraction, test_fraction))
        if n - n_val - n_test < 1:
            raise ConfigError(
                "data.root",
                f"directory '{self.root}' contains {n} image(s), too few for a train split after "
                f"{n_val} validation and {n_test} test image(s)",
            )

        self.classes: list[str] = []
        labels = [0] * n
        if class_subfolders:
            loose = [f for f in files if f.parent == self.root]
            if loose:
                message = f"with class_subfolders, images must be in subfolders of '{self.root}', found '{loose[0]}'"
                raise ConfigError("data.root", message)
            top = [f.relative_to(self.root).parts[0] for f in files]
            self.classes = sorted(set(top))
            index = {name: i for i, name in enumerate(self.classes)}
            labels = [index[name] for name in top]
            self.num_classes = len(self.classes)

        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
        sizes = {"val": n_val, "test": n_test, "train": n - n_val - n_test}
        self.split_files: dict[str, list[Path]] = {}
        self._split_labels: dict[str, list[int]] = {}
        start = 0
        for split, size in sizes.items():
            chosen = order[start : start + size]
            self.split_files[split] = [files[i] for i in chosen]
            self._split_labels[split] = [labels[i] for i in chosen]
            start += size

    def make_datasets(self) -> Split:
        transform = image_transform(self.image_size, self.num_channels)
        return tuple(
            ImageFileDataset(self.split_files[split], transform, self._split_labels[split], self.on_corrupt)
            for split in ("train", "val", "test")
        )
