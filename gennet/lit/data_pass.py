"""One pass over the training images, with a progress bar: for the statistics fitted before training
(the classifiers' standardization, the CNN decoder's whitening) and for the Gaussian embedding model."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

__all__ = ["training_images", "reduce_statistics"]


def training_images(
    datamodule,
    device: torch.device | str = "cpu",
    limit: int | None = None,
    seed: int = 0,
    desc: str = "training images",
    progress: bool = True,
    shard: tuple[int, int] = (0, 1),
) -> Iterator[torch.Tensor]:
    """Yield the training images of ``datamodule`` as batches ``(B, C, H, W)`` on ``device``, each image once.

    ``limit``: only a random subset of that many images, drawn with ``seed`` (image folders are sorted by
    class, so the first images would not be representative). Batches of ``datamodule.batch_size``, its
    workers, in dataset order; the training transform applies (e.g. random crops for ImageNet).
    ``shard=(rank, world_size)``: only every ``world_size``-th of those images, from ``rank`` (each process
    of a distributed run reads its share; combine with :func:`reduce_statistics`).
    """
    datamodule.setup("fit")
    dataset = datamodule.train_dataset
    indices = list(range(len(dataset)))
    if limit is not None and limit < len(dataset):
        indices = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:limit].tolist()
    rank, world_size = shard
    if limit is not None or world_size > 1:
        dataset = Subset(dataset, indices[rank::world_size])
    loader = DataLoader(dataset, batch_size=datamodule.batch_size, num_workers=datamodule.num_workers)
    for x, _ in tqdm(loader, desc=desc, unit="batch", disable=not progress, leave=False):
        yield x.to(device)


@torch.no_grad()
def reduce_statistics(module, statistics) -> None:
    """Combine streaming statistics (``count``, ``mean``, ``m2`` buffers, ``reset_``/``merge_``: a
    :class:`~gennet.models.Standardization`) accumulated on each process's shard, in rank order, so that
    every rank ends with the statistics of the whole set. A no-op outside distributed runs.

    ``module`` is the LightningModule (its ``all_gather`` goes through the trainer's strategy).
    """
    trainer = module.trainer
    if trainer.world_size == 1:
        return
    gathered = [module.all_gather(t) for t in (statistics.count, statistics.mean, statistics.m2)]
    statistics.reset_()
    for count, mean, m2 in zip(*gathered):
        statistics.merge_(count, mean, m2)
