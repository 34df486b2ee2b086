"""What every gennet DataModule shares: argument checks, the image transform, the dataloaders.

A dataset module (one file per dataset) only says where its images come from and how they are
split; this file turns them into ``(image, label)`` pairs with ``image`` float32 ``(C, H, W)`` in
[-1, 1] and ``label`` int64, and into the three dataloaders Lightning asks for.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets.folder import pil_loader
from torchvision.transforms import v2

from gennet.data.frequency import frequency_views, parse_frequency_filter
from gennet.data.resumable import ResumableDataLoader
from gennet.errors import ConfigError, check_bool, check_int

Split = tuple[Dataset, Dataset, Dataset]


def check_directory(path: str | os.PathLike | None, what: str = "") -> Path:
    """``path`` as a :class:`Path` if it is an existing directory, else ``ConfigError("data.root", …)``."""
    if path is None or str(path) == "":
        raise ConfigError("data.root", f"no directory given{what}")
    path = Path(path).expanduser()
    if not path.exists():
        raise ConfigError("data.root", f"directory '{path}' does not exist{what}")
    if not path.is_dir():
        raise ConfigError("data.root", f"'{path}' is not a directory{what}")
    return path


def image_transform(image_size: int, num_channels: int, crop: int | None = None) -> v2.Compose:
    """PIL image → float32 ``(num_channels, image_size, image_size)`` in [-1, 1] (torchvision v2).

    ``crop=None`` takes the largest centered square (resize the shorter side to ``image_size``, then
    center-crop); an int first center-crops a ``crop × crop`` square (CelebA: 178), then resizes.
    """
    color = v2.RGB() if num_channels == 3 else v2.Grayscale(num_output_channels=1)
    if crop is None:
        geometry = [v2.Resize(image_size, antialias=True), v2.CenterCrop(image_size)]
    else:
        geometry = [v2.CenterCrop(crop), v2.Resize((image_size, image_size), antialias=True)]
    return v2.Compose([
        v2.ToImage(),
        color,
        *geometry,
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize([0.5] * num_channels, [0.5] * num_channels),  # [0, 1] → [-1, 1]
    ])


ON_CORRUPT = ("skip", "error")


def check_on_corrupt(value: str) -> str:
    if value not in ON_CORRUPT:
        raise ConfigError("data.on_corrupt", f"must be skip or error, got {value!r}")
    return value


def readable_item(dataset, index: int, read: Callable[[int], Any], path_of: Callable[[int], Any], on_corrupt: str):
    """``read(index)``, or — if its image file cannot be decoded (``OSError`` / ``SyntaxError`` from PIL) —
    ``on_corrupt="skip"``: the next readable item, with a warning that counts the files skipped so far in
    this process (``dataset.skipped``); ``"error"``: ``ConfigError("data.on_corrupt", …)`` naming the file."""
    n = len(dataset)
    for offset in range(n):
        i = (index + offset) % n
        try:
            return read(i)
        except (OSError, SyntaxError) as error:
            path = path_of(i)
            if on_corrupt == "error":
                raise ConfigError("data.on_corrupt", f"cannot read image '{path}' ({type(error).__name__}: {error})") from None
            dataset.skipped = getattr(dataset, "skipped", 0) + 1
            warnings.warn(f"skipped unreadable image '{path}' ({dataset.skipped} skipped so far in this process; "
                          "data.on_corrupt=error stops instead)", stacklevel=2)
    raise ConfigError("data.root", "no readable image in the dataset")


class ImageFileDataset(Dataset):
    """Images read from a list of files: ``(transform(image), label)`` with ``label`` int64.

    Args:
        paths: image files, opened with torchvision's ``pil_loader`` (converted to RGB).
        transform: e.g. :func:`image_transform`.
        labels: one int per path; all 0 when omitted (dataset without labels).
        on_corrupt: an unreadable file is skipped with a counted warning (``"skip"``) or stops naming it
            (``"error"``); see :func:`readable_item`.
    """

    def __init__(
        self, paths: Sequence[Path], transform: Callable, labels: Sequence[int] | None = None, on_corrupt: str = "skip"
    ) -> None:
        self.paths = list(paths)
        self.labels = [0] * len(self.paths) if labels is None else list(labels)
        if len(self.labels) != len(self.paths):
            raise ValueError(f"{len(self.paths)} paths but {len(self.labels)} labels")
        self.transform = transform
        self.on_corrupt = check_on_corrupt(on_corrupt)
        self.skipped = 0

    def __len__(self) -> int:
        return len(self.paths)

    def _read(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.transform(pil_loader(str(self.paths[index])))
        return image, torch.tensor(self.labels[index], dtype=torch.int64)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return readable_item(self, index, self._read, self.paths.__getitem__, self.on_corrupt)


class ImageDataModule(L.LightningDataModule):
    """Base of gennet's DataModules: checks the common arguments and builds the dataloaders.

    Subclasses set ``num_channels`` (and ``num_classes`` if they have labels), validate their own inputs in ``__init__`` (so that a bad config
    fails before training starts) and implement :meth:`make_datasets`.

    Args:
        batch_size: images per batch (``data.batch_size``, >= 1).
        image_size: side ``H = W`` of the returned images (``data.image_size``, checked by subclasses).
        num_workers: dataloader worker processes (``data.num_workers``, >= 0; 0 loads in the main process).
        seed: seeds the training shuffle (and the split, where a split is random).
        on_corrupt: for data modules that read image files: an unreadable image is skipped with a counted
            warning (``"skip"``) or stops the run naming the file (``"error"``); see :func:`readable_item`.
        frequency_filter: ``"low:R"`` / ``"high:R"``: train and validate on ``x_l`` / ``x_h`` only, test on the
            originals; frequency_flip: train, validate and test on DCT-flipped images
            (:mod:`gennet.data.frequency`, DESIGN §15).

    Raises:
        ConfigError: ``"data.batch_size"`` if < 1, ``"data.num_workers"`` if < 0, ``"data.seed"`` if not an int,
            ``"data.on_corrupt"`` if not ``skip`` or ``error``, ``"data.frequency_filter"`` if not ``low:R`` /
            ``high:R``, ``"data.frequency_flip"`` if not a boolean.
    """

    num_channels: int = 3
    num_classes: int = 1  #: distinct labels (1 for datasets without labels)

    def __init__(self, batch_size: int, image_size: int, num_workers: int, seed: int, on_corrupt: str = "skip",
                 frequency_filter: str | None = None, frequency_flip: bool = False) -> None:
        super().__init__()
        self.on_corrupt = check_on_corrupt(on_corrupt)
        parse_frequency_filter(frequency_filter)
        self.frequency_filter, self.frequency_flip = frequency_filter, check_bool("data.frequency_flip", frequency_flip)
        self.batch_size = check_int("data.batch_size", batch_size, 1)
        self.num_workers = check_int("data.num_workers", num_workers, 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError("data.seed", f"expected an integer, got {seed!r}")
        self.seed = seed
        self.image_size = image_size
        self.train_dataset: Dataset | None = None
        self.val_dataset: Dataset | None = None
        self.test_dataset: Dataset | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return (self.num_channels, self.image_size, self.image_size)

    def make_datasets(self) -> Split:
        """Return the ``(train, val, test)`` datasets."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.train_dataset is None:
            self.train_dataset, self.val_dataset, self.test_dataset = frequency_views(
                self.make_datasets(), self.frequency_filter, self.frequency_flip)

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        common = dict(num_workers=self.num_workers, pin_memory=torch.cuda.is_available(),
                      persistent_workers=self.num_workers > 0)
        if not train:
            return DataLoader(dataset, batch_size=self.batch_size, shuffle=False, **common)
        trainer = getattr(self, "trainer", None)
        world = dict(num_replicas=trainer.world_size, rank=trainer.global_rank) if trainer is not None else {}
        drop_last = -(-len(dataset) // world.get("num_replicas", 1)) > self.batch_size  # per-process share
        # the order of every epoch depends on (seed, epoch) only, and a run resumes mid-epoch exactly (DDP too)
        return ResumableDataLoader(dataset, self.batch_size, self.seed, drop_last=drop_last, **world, **common)

    def train_dataloader(self) -> DataLoader:
        self.setup()  # a no-op under a Trainer; lets the loaders be used without one
        self._train_loader = self._loader(self.train_dataset, train=True)
        self._apply_loader_state()
        return self._train_loader

    # The position of the training loader travels in the checkpoint (``checkpoint["<DataModule class>"]``).
    # Lightning also restores stateful loaders itself, but not when the loader was created before the
    # checkpoint was read (``trainer.estimated_stepping_batches`` in ``configure_optimizers`` does that):
    # the state is then applied here, before the loader's first batch.
    def state_dict(self) -> dict[str, Any]:
        loader = getattr(self, "_train_loader", None)
        return {"train_loader": loader.state_dict()} if isinstance(loader, ResumableDataLoader) else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending_loader_state = state_dict.get("train_loader")
        self._apply_loader_state()

    def _apply_loader_state(self) -> None:
        loader, state = getattr(self, "_train_loader", None), getattr(self, "_pending_loader_state", None)
        if isinstance(loader, ResumableDataLoader) and state is not None:
            loader.load_state_dict(state)
            self._pending_loader_state = None

    def val_dataloader(self) -> DataLoader:
        self.setup()
        return self._loader(self.val_dataset, train=False)

    def test_dataloader(self) -> DataLoader:
        self.setup()
        return self._loader(self.test_dataset, train=False)
