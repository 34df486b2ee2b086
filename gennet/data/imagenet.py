"""ImageNet (ILSVRC-2012) in the standard folder layout, with the usual training augmentation."""

from __future__ import annotations

import os

import torch
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from gennet.data.base import ImageDataModule, Split, check_directory, readable_item
from gennet.errors import ConfigError, check_int

#: ImageNet's evaluation protocol: resize the shorter side to 256, center-crop 224 (ratio 256/224).
RESIZE_RATIO = 256 / 224


def imagenet_transforms(image_size: int) -> tuple[v2.Compose, v2.Compose]:
    """``(train, eval)`` transforms: PIL RGB → float32 ``(3, image_size, image_size)`` in [-1, 1].

    Train: ``RandomResizedCrop(image_size)`` (scale 0.08–1, ratio 3/4–4/3) + horizontal flip.
    Eval: resize the shorter side to ``round(image_size · 256/224)`` and center-crop ``image_size``
    (224 → 256/224 as in Krizhevsky et al. 2012 and torchvision's references).
    """
    to_float = [v2.ToImage(), v2.RGB(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * 3, [0.5] * 3)]
    train = v2.Compose([*to_float[:2], v2.RandomResizedCrop(image_size, antialias=True), v2.RandomHorizontalFlip(),
                        *to_float[2:]])
    resize = round(image_size * RESIZE_RATIO)
    evaluation = v2.Compose([*to_float[:2], v2.Resize(resize, antialias=True), v2.CenterCrop(image_size),
                             *to_float[2:]])
    return train, evaluation


class _CheckedImageFolder(ImageFolder):
    """torchvision's ``ImageFolder`` that skips (counted warning) or names an unreadable file."""

    def __init__(self, *args, on_corrupt: str = "skip", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.on_corrupt, self.skipped = on_corrupt, 0

    def __getitem__(self, index: int):
        return readable_item(self, index, super().__getitem__, lambda i: self.samples[i][0], self.on_corrupt)


class ImageNetDataModule(ImageDataModule):
    """ImageNet-style classification folders: ``root/train/<class>/*`` and ``root/val/<class>/*``.

    Read with torchvision's ``ImageFolder`` (classes = subfolder names in sorted order, labels their
    index; files with an image extension of ``IMG_EXTENSIONS``). The ``val`` folder is both the
    validation and the test split (ImageNet's labeled validation set is what papers report). Items are
    ``(image, label)``: ``image`` float32 ``(3, image_size, image_size)`` in [-1, 1], ``label`` int64.
    Transforms: :func:`imagenet_transforms` (random-resized crops and flips for training; resize
    ``image_size·256/224`` and center crop for evaluation), so ``image_size=64`` scales the protocol.

    Args:
        root: the folder holding ``train/`` and ``val/``.
        batch_size: images per batch (>= 1).
        image_size: side of the crops (>= 8; 224 for the paper).
        num_workers: dataloader workers (>= 0).
        seed: seeds the training shuffle (augmentations draw from torch's seeded RNG in each worker).
        on_corrupt: an unreadable image is skipped with a counted warning (``"skip"``) or stops the run
            naming the file (``"error"``).

    Raises:
        ConfigError: ``"data.root"`` if ``root``, ``root/train`` or ``root/val`` is missing or holds no
            class folder with images, or if ``val`` has a class that ``train`` lacks;
            ``"data.image_size"`` if < 8; ``"data.batch_size"`` / ``"data.num_workers"`` as in
            :class:`~gennet.data.base.ImageDataModule`.
    """

    num_channels = 3

    def __init__(
        self,
        root: str | os.PathLike,
        batch_size: int = 256,
        image_size: int = 224,
        num_workers: int = 8,
        seed: int = 0,
        on_corrupt: str = "skip",
    ) -> None:
        super().__init__(batch_size, image_size, num_workers, seed, on_corrupt)
        self.save_hyperparameters(logger=False)
        check_int("data.image_size", image_size, 8)
        self.root = check_directory(root)
        self.folders = {split: check_directory(self.root / split, f" (expected {self.root}/{split}/<class>/...)")
                        for split in ("train", "val")}
        self.classes = self._classes("train")
        missing = sorted(set(self._classes("val")) - set(self.classes))
        if missing:
            raise ConfigError("data.root", f"'{self.folders['val']}' has classes not in train/: {', '.join(missing[:5])}")
        self.num_classes = len(self.classes)

    def _classes(self, split: str) -> list[str]:
        folder = self.folders[split]
        classes = sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())
        if not classes:
            raise ConfigError("data.root", f"'{folder}' has no class subfolders (expected {folder}/<class>/<image>)")
        return classes

    def _folder(self, split: str, transform) -> ImageFolder:
        try:
            dataset = _CheckedImageFolder(str(self.folders[split]), transform=transform, target_transform=torch.tensor,
                                          allow_empty=True, on_corrupt=self.on_corrupt)
        except FileNotFoundError as error:  # no image at all under the folder
            raise ConfigError("data.root", f"'{self.folders[split]}': {error}") from None
        if split == "val":  # labels in train's class order, even if val lacks some classes
            index = {name: i for i, name in enumerate(self.classes)}
            dataset.samples = [(path, index[dataset.classes[label]]) for path, label in dataset.samples]
            dataset.targets = [label for _, label in dataset.samples]
            dataset.classes, dataset.class_to_idx = self.classes, index
        if not dataset.samples:
            raise ConfigError("data.root", f"'{self.folders[split]}' contains no images")
        return dataset

    def make_datasets(self) -> Split:
        train_transform, eval_transform = imagenet_transforms(self.image_size)
        val = self._folder("val", eval_transform)
        return self._folder("train", train_transform), val, val
