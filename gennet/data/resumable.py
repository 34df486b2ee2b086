"""A training DataLoader whose order is a function of ``(seed, epoch)`` and that resumes mid-epoch.

Lightning stores the ``state_dict`` of a stateful training loader in every checkpoint and hands it back
on resume (``fit_loop`` → ``CombinedLoader``). With the position of the epoch and the number of batches
already served, a resumed run sees exactly the batches the interrupted one would have seen next.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

__all__ = ["EpochShuffleSampler", "ResumableDataLoader"]


class EpochShuffleSampler(Sampler[int]):
    """A permutation of ``range(n)`` drawn from ``(seed, epoch)`` alone (Lightning calls :meth:`set_epoch`
    at every epoch start); ``start`` indices are skipped once, on the next iteration (a resumed epoch)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch, self.start = int(n), int(seed), 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        start, self.start = self.start, 0
        return iter(torch.randperm(self.n, generator=generator)[start:].tolist())

    def __len__(self) -> int:
        return self.n


class ResumableDataLoader(DataLoader):
    """``DataLoader`` over an :class:`EpochShuffleSampler`, with ``state_dict`` / ``load_state_dict``.

    State: ``{"epoch", "batches"}``, the epoch and the batches served in it. Lightning does not pre-fetch
    from loaders of known length, so at a checkpoint the batches served are the batches trained on.

    Args:
        dataset: a map-style dataset. batch_size, drop_last, num_workers, pin_memory, persistent_workers:
            as for ``DataLoader``. seed: seeds the order of every epoch.
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, drop_last: bool = False, **kwargs: Any) -> None:
        super().__init__(dataset, batch_size=batch_size, sampler=EpochShuffleSampler(len(dataset), seed),
                         drop_last=drop_last, **kwargs)
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
