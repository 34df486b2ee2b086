"""The training loader's order: a function of (seed, epoch), split among DDP ranks as torch's
DistributedSampler splits, and resumable at any batch."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DistributedSampler, TensorDataset

from gennet.data.resumable import EpochShuffleSampler, ResumableDataLoader


def order(n: int, seed: int, epoch: int, **world) -> list[int]:
    sampler = EpochShuffleSampler(n, seed, **world)
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("n, replicas", [(10, 1), (10, 2), (11, 2), (7, 3), (2, 5)])
def test_ranks_split_the_epoch_permutation_as_distributed_sampler_splits_indices(n, replicas):
    permutation = order(n, seed=3, epoch=2)
    assert sorted(permutation) == list(range(n))
    shares = []
    for rank in range(replicas):
        # torch's reference for padding and striding, applied to positions of the permutation
        positions = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False)
        expected = [permutation[p] for p in positions]
        share = order(n, seed=3, epoch=2, num_replicas=replicas, rank=rank)
        assert share == expected and len(share) == len(EpochShuffleSampler(n, 3, replicas, rank))
        shares += share
    assert set(shares) == set(range(n))  # every image is served in every epoch


def test_order_depends_on_seed_and_epoch_only():
    assert order(50, 1, 0) == order(50, 1, 0)
    assert order(50, 1, 0) != order(50, 1, 1)
    assert order(50, 1, 0) != order(50, 2, 0)


@pytest.mark.parametrize("replicas, rank", [(1, 0), (2, 1)])
def test_a_restored_loader_serves_the_rest_of_the_interrupted_epoch(replicas, rank):
    dataset = TensorDataset(torch.arange(23))
    loader = ResumableDataLoader(dataset, batch_size=3, seed=5, num_replicas=replicas, rank=rank)
    loader.sampler.set_epoch(4)
    full = [batch[0].tolist() for batch in loader]
    served = iter(loader)
    head = [next(served)[0].tolist() for _ in range(2)]
    state = loader.state_dict()
    assert state == {"epoch": 4, "batches": 2} and head == full[:2]

    restored = ResumableDataLoader(dataset, batch_size=3, seed=5, num_replicas=replicas, rank=rank)
    restored.load_state_dict(state)
    assert [batch[0].tolist() for batch in restored] == full[2:]
    assert restored.state_dict() == {"epoch": 4, "batches": len(full)}
    assert [batch[0].tolist() for batch in restored] == full  # the skip applies once
