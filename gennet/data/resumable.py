"""A training DataLoader whose order is a function of ``(seed, epoch)`` and that resumes mid-epoch.

Lightning stores the ``state_dict`` of a stateful training loader in every checkpoint and hands it back
on resume (``fit_loop`` → ``CombinedLoader``). With the position of the epoch and the number of batches
already served, a resumed run sees exactly the batches the interrupted one would have seen next.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

__all__ = ["EpochShuffleSampler", "ResumableDataLoader"]


class EpochShuffleSampler(DistributedSampler):
    """A permutation of ``range(n)`` drawn from ``(seed, epoch)`` alone (Lightning calls :meth:`set_epoch`
    at every epoch start), split among ``num_replicas`` processes; ``start`` indices of this process's share
    are skipped once, on the next iteration (a resumed epoch).

    As torch's ``DistributedSampler``: the permutation is padded by repeating its head to a multiple of
    ``num_replicas`` and process ``rank`` takes every ``num_replicas``-th index from position ``rank``, so every
    process serves ``ceil(n / num_replicas)`` indices. Being a ``DistributedSampler``, Lightning keeps it
    under DDP instead of swapping in its own, and the resume position holds on every rank. With one
    process the order is the plain permutation.

    Args:
        n: dataset length. seed: seeds the order of every epoch. num_replicas, rank: the data-parallel world
            size and this process's global rank (``trainer.world_size``, ``trainer.global_rank``).
    """

    def __init__(self, n: int, seed: int, num_replicas: int = 1, rank: int = 0) -> None:
        super().__init__(range(int(n)), num_replicas=num_replicas, rank=rank, shuffle=True, seed=int(seed))
        self.n, self.start = int(n), 0

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.n, generator=generator)
        if self.total_size > self.n:
            order = order.repeat(-(-self.total_size // self.n))[: self.total_size]
        start, self.start = self.start, 0
        return iter(order[self.rank : self.total_size : self.num_replicas][start:].tolist())

    def __len__(self) -> int:
        return self.num_samples


class ResumableDataLoader(DataLoader):
    """``DataLoader`` over an :class:`EpochShuffleSampler`, with ``state_dict`` / ``load_state_dict``.

    State: ``{"epoch", "batches"}``, the epoch and the batches served in it. Lightning does not pre-fetch
    from loaders of known length, so at a checkpoint the batches served are the batches trained on.

    Args:
        dataset: a map-style dataset. batch_size, drop_last, num_workers, pin_memory, persistent_workers:
            as for ``DataLoader``. seed: seeds the order of every epoch. num_replicas, rank: as for
            :class:`EpochShuffleSampler` (DDP: every rank serves the same number of batches, so the position
            saved by rank 0 is every rank's).
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, drop_last: bool = False,
                 num_replicas: int = 1, rank: int = 0, **kwargs: Any) -> None:
        sampler = EpochShuffleSampler(len(dataset), seed, num_replicas=num_replicas, rank=rank)
        super().__init__(dataset, batch_size=batch_size, sampler=sampler, drop_last=drop_last, **kwargs)
        self._served = 0

    def __iter__(self):
        self._served = self.sampler.start // self.batch_size
        for batch in super().__iter__():
            self._served += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.sampler.epoch, "batches": self._served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.set_epoch(state["epoch"])
        self.sampler.start = int(state["batches"]) * self.batch_size
