"""One pass over the training images, with a progress bar: for the statistics fitted before training
(the classifiers' standardization, the CNN decoder's whitening) and for the Gaussian embedding model."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

__all__ = ["training_images"]


def training_images(
    datamodule,
    device: torch.device | str = "cpu",
    limit: int | None = None,
    seed: int = 0,
    desc: str = "training images",
    progress: bool = True,
) -> Iterator[torch.Tensor]:
    """Yield the training images of ``datamodule`` as batches ``(B, C, H, W)`` on ``device``, each image once.

    ``limit``: only a random subset of that many images, drawn with ``seed`` (image folders are sorted by
    class, so the first images would not be representative). Batches of ``datamodule.batch_size``, its
    workers, in dataset order; the training transform applies (e.g. random crops for ImageNet).
    """
    datamodule.setup("fit")
    dataset = datamodule.train_dataset
    if limit is not None and limit < len(dataset):
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
        dataset = Subset(dataset, order[:limit].tolist())
    loader = DataLoader(dataset, batch_size=datamodule.batch_size, num_workers=datamodule.num_workers)
    for x, _ in tqdm(loader, desc=desc, unit="batch", disable=not progress, leave=False):
        yield x.to(device)
