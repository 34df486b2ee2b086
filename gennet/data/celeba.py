"""CelebA, aligned and cropped faces (Liu, Luo, Wang, Tang, *Deep Learning Face Attributes in the Wild*, ICCV 2015)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torchvision
from torch.utils.data import Dataset

from gennet.data.base import (
    ImageDataModule,
    ImageFileDataset,
    Split,
    check_directory,
    image_transform,
    readable_item,
)
from gennet.errors import ConfigError, check_int

CROP = 178  # aligned CelebA images are 178 wide, 218 high
SPLITS = {"train": 0, "valid": 1, "test": 2}  # codes of list_eval_partition.txt, names of torchvision's CelebA
LAYOUT = "root/celeba/img_align_celeba/*.jpg and root/celeba/list_eval_partition.txt"


def read_partition(path: Path) -> dict[str, list[str]]:
    """Parse ``list_eval_partition.txt`` (lines ``000001.jpg 0``) into the file names of each split."""
    files: dict[str, list[str]] = {name: [] for name in SPLITS}
    split_of_code = {str(code): name for name, code in SPLITS.items()}
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or fields[1] not in split_of_code:
                message = f"line {number} of '{path}' is {line.strip()!r}, expected '<image>.jpg <0|1|2>'"
                raise ConfigError("data.root", message)
            files[split_of_code[fields[1]]].append(fields[0])
    return files


class _Unlabeled(Dataset):
    """torchvision's ``CelebA(target_type=[])`` yields ``(image, None)``; gennet wants ``(image, 0)``."""

    def __init__(self, dataset: Dataset, on_corrupt: str = "skip") -> None:
        self.dataset, self.on_corrupt, self.skipped = dataset, on_corrupt, 0

    def __len__(self) -> int:
        return len(self.dataset)

    def _read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, _ = self.dataset[index]
        return image, torch.tensor(0, dtype=torch.int64)

    def _path(self, index: int) -> str:
        return os.path.join(self.dataset.root, self.dataset.base_folder, "img_align_celeba", self.dataset.filename[index])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return readable_item(self, index, self._read, self._path, self.on_corrupt)


class CelebADataModule(ImageDataModule):
    """CelebA aligned faces, RGB, split by the official partition file.

    Source: Liu, Luo, Wang, Tang, *Deep Learning Face Attributes in the Wild*, ICCV 2015
    (202,599 aligned 178×218 images of 10,177 identities).

    Reads CelebA's aligned layout under ``root``::

        root/celeba/img_align_celeba/000001.jpg …
        root/celeba/list_eval_partition.txt        lines "000001.jpg 0"; 0 train, 1 val, 2 test

    When the full official layout is there (the four annotation files too) and passes torchvision's
    MD5 check, ``torchvision.datasets.CelebA(root, split, target_type=[])`` reads it; otherwise (only
    the images and a partition file — e.g. a custom split) a small reader of the partition file does.
    Either way the splits are exactly those of the partition file (``data_source`` says which reader).

    Transform (torchvision): center crop 178×178, resize to ``image_size``, RGB in [-1, 1].
    Items are ``(image, label)``: ``image`` float32 ``(3, image_size, image_size)``, ``label`` int64 0
    (CelebA's attributes and identities are not used).

    Args:
        root: directory holding ``celeba/`` (torchvision's convention).
        batch_size: images per batch (>= 1).
        image_size: output side, 1..178 (default 64; 128 is the other usual choice).
        num_workers: dataloader workers (>= 0).
        seed: seeds the training shuffle (the split is fixed by the partition file).
        on_corrupt: an unreadable image is skipped with a counted warning (``"skip"``) or stops the run
            naming the file (``"error"``).

    Raises:
        ConfigError: ``"data.root"`` if ``root``, ``root/celeba/img_align_celeba`` or the partition file
            is missing, the partition file is malformed, lists no training image or lists images that
            are not there;
            ``"data.image_size"`` if not in 1..178; ``"data.batch_size"`` / ``"data.num_workers"`` as in
            :class:`~gennet.data.base.ImageDataModule`.
    """

    num_channels = 3

    def __init__(
        self,
        root: str | os.PathLike,
        batch_size: int = 64,
        image_size: int = 64,
        num_workers: int = 2,
        seed: int = 0,
        on_corrupt: str = "skip",
    ) -> None:
        super().__init__(batch_size, image_size, num_workers, seed, on_corrupt)
        self.save_hyperparameters(logger=False)
        check_int("data.image_size", image_size, 1, CROP, why=" (CelebA faces are center-cropped to 178x178)")
        layout = f" (expected CelebA's aligned layout: {LAYOUT})"
        self.root = check_directory(root, layout)
        self.image_dir = check_directory(self.root / "celeba" / "img_align_celeba", layout)
        partition = self.root / "celeba" / "list_eval_partition.txt"
        if not partition.is_file():
            raise ConfigError("data.root", f"partition file '{partition}' does not exist{layout}")
        self.split_files = read_partition(partition)
        listed = [name for names in self.split_files.values() for name in names]
        if not self.split_files["train"]:
            raise ConfigError("data.root", f"partition file '{partition}' lists no training image (code 0)")
        present = set(os.listdir(self.image_dir))
        missing = [name for name in listed if name not in present]
        if missing:
            raise ConfigError(
                "data.root",
                f"{len(missing)} of the {len(listed)} images listed in '{partition}' are missing from "
                f"'{self.image_dir}' (first: '{missing[0]}')",
            )
        self.data_source: str | None = None  # "torchvision" or "partition file", set by setup()

    def make_datasets(self) -> Split:
        transform = image_transform(self.image_size, self.num_channels, crop=CROP)
        try:
            datasets = tuple(
                _Unlabeled(torchvision.datasets.CelebA(self.root, split=split, target_type=[], transform=transform),
                           self.on_corrupt)
                for split in SPLITS
            )
            self.data_source = "torchvision"
        except RuntimeError:  # "Dataset not found or corrupted": annotation files absent or not the official ones
            datasets = tuple(
                ImageFileDataset([self.image_dir / name for name in self.split_files[split]], transform,
                                 on_corrupt=self.on_corrupt)
                for split in SPLITS
            )
            self.data_source = "partition file"
        return datasets
