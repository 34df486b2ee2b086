"""Nearest neighbours and k-Local Support Vectors against direct implementations (loops, scikit-learn)."""

from __future__ import annotations

import pytest
import torch

from gennet.analysis import local_support_vectors, nearest_neighbour_accuracy, nearest_neighbours, stage_features


def direct_lsv(queries, query_labels, references, reference_labels, k_max: int) -> dict[int, int]:
    """Seed 002's recursive definition, one point at a time, with sorted Python lists."""
    counts = dict.fromkeys(range(1, k_max + 1), 0)
    for q, label in zip(queries.tolist(), query_labels.tolist()):
        distances = sorted((sum((a - b) ** 2 for a, b in zip(q, r)), i) for i, r in enumerate(references.tolist()))
        neighbour_labels = [int(reference_labels[i]) for _, i in distances[:k_max]]
        inside = neighbour_labels[0] != label  # Γ¹
        counts[1] += inside
        for k in range(1, k_max):
            wrong = sum(neighbour != label for neighbour in neighbour_labels[: k + 1])
            inside = inside and wrong > (k + 1) / 2  # Γ^{k+1} ⊂ Γ^k
            counts[k + 1] += inside
    return counts


@pytest.mark.parametrize("seed", [0, 1])
def test_lsv_counts_match_the_direct_definition(seed):
    g = torch.Generator().manual_seed(seed)
    # three overlapping clusters: many points near the boundaries
    references = torch.randn(120, 4, generator=g, dtype=torch.float64)
    reference_labels = (references[:, 0] + 0.7 * torch.randn(120, generator=g, dtype=torch.float64)).gt(0).long() + (references[:, 1] > 1).long()
    queries = torch.randn(60, 4, generator=g, dtype=torch.float64)
    query_labels = queries[:, 0].gt(0).long() + (queries[:, 1] > 1).long()
    counts = local_support_vectors(queries, query_labels, references, reference_labels, ks=(1, 2, 3, 4, 5))
    assert counts == direct_lsv(queries, query_labels, references, reference_labels, 5)
    assert counts[1] >= counts[2] >= counts[3] >= counts[4] >= counts[5] > 0  # nested sets
    assert local_support_vectors(queries, query_labels, references, reference_labels, ks=(5, 1)) == {5: counts[5], 1: counts[1]}


def test_one_nn_accuracy_and_neighbours_match_scikit_learn():
    from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

    g = torch.Generator().manual_seed(2)
    references, reference_labels = torch.randn(200, 6, generator=g), torch.randint(0, 4, (200,), generator=g)
    queries, query_labels = torch.randn(50, 6, generator=g), torch.randint(0, 4, (50,), generator=g)
    expected = KNeighborsClassifier(1).fit(references.numpy(), reference_labels.numpy()).score(queries.numpy(), query_labels.numpy())
    assert nearest_neighbour_accuracy(queries, query_labels, references, reference_labels) == pytest.approx(expected)
    indices = NearestNeighbors(n_neighbors=4).fit(references.numpy()).kneighbors(references.numpy(), return_distance=False)
    # without the point itself: scikit-learn's 2nd..4th neighbours
    assert torch.equal(nearest_neighbours(references, references, 3, exclude_self=True, chunk=64), torch.from_numpy(indices[:, 1:]))
    assert 1 - nearest_neighbour_accuracy(queries, query_labels, references, reference_labels) == pytest.approx(
        local_support_vectors(queries, query_labels, references, reference_labels, ks=(1,))[1] / 50)  # |Γ¹| = 1-NN errors
    with pytest.raises(ValueError, match="k must be"):
        nearest_neighbours(queries, references[:3], 4)


def test_stage_features_average_maps_over_space_and_keep_vectors():
    stages = [("double", lambda x: 2 * x), ("flat", lambda x: x.flatten(1))]
    images = [torch.arange(8.0).reshape(2, 1, 2, 2), torch.ones(1, 1, 2, 2)]
    features = stage_features(stages, images)
    assert torch.equal(features["double"], torch.tensor([[3.0], [11.0], [2.0]]))
    assert features["flat"].shape == (3, 4)
