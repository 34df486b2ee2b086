"""Progressive separation across depth: nearest-neighbour accuracy and k-Local Support Vectors (DESIGN §11).

Oyallon, "Building a regular decision boundary with deep networks", CVPR 2017 (seed 002): at depth ``j``
the representation ``x_j`` of an image is compared with its ``l``-th nearest neighbour ``x_j^{(l)}`` (Euclidean)
among reference images; the k-Local Support Vectors are defined recursively,

    Γ¹_j = {x_j : y(x_j^{(1)}) ≠ y(x_j)},
    Γ^{k+1}_j = {x_j ∈ Γ^k_j : #{l ≤ k+1 : y(x_j^{(l)}) ≠ y(x_j)} > (k+1)/2},

points that no l-nearest-neighbour vote (l ≤ k) classifies correctly; fewer of them with depth means that the
classes separate locally. ``|Γ¹|`` is the number of errors of the 1-NN classifier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

__all__ = ["network_stages", "stage_features", "nearest_neighbours", "local_support_vectors", "nearest_neighbour_accuracy"]


def network_stages(network: nn.Module) -> list[tuple[str, Callable[[Tensor], Tensor]]]:
    """The stages of a classifier, applied in turn: ``network.stages()`` if it defines them, the named children
    of an ``nn.Sequential``, else the network as one stage."""
    if hasattr(network, "stages"):
        return list(network.stages())
    if isinstance(network, nn.Sequential):
        return list(network.named_children())
    return [("network", network)]


@torch.no_grad()
def stage_features(
    stages: Sequence[tuple[str, Callable[[Tensor], Tensor]]], batches: Iterable[Tensor]
) -> dict[str, Tensor]:
    """The output of every stage, averaged over space: ``{name: (N, D)}`` float32 on the CPU.

    Maps ``(B, D, h, w)`` are averaged over ``(h, w)``; vectors ``(B, D)`` are kept. ``batches``: images ``(B, C, H, W)``.
    """
    out: dict[str, list[Tensor]] = {name: [] for name, _ in stages}
    for x in batches:
        for name, stage in stages:
            x = stage(x)
            out[name].append((x.flatten(2).mean(2) if x.ndim > 2 else x).float().cpu())
    return {name: torch.cat(values) for name, values in out.items()}


def nearest_neighbours(queries: Tensor, references: Tensor, k: int, exclude_self: bool = False, chunk: int = 1024) -> Tensor:
    """Indices ``(Q, k)`` of the ``k`` nearest references (Euclidean) of each query, nearest first.

    ``exclude_self``: queries are the references (same order); a point is not its own neighbour.

    Raises:
        ValueError: ``k`` < 1 or larger than the number of candidate references.
    """
    available = references.shape[0] - int(exclude_self)
    if not 1 <= k <= available:
        raise ValueError(f"k must be in [1, {available}], got {k}")
    out = []
    references = references.to(torch.float64)
    for start in range(0, queries.shape[0], chunk):
        d = torch.cdist(queries[start : start + chunk].to(torch.float64), references)
        if exclude_self:
            rows = torch.arange(d.shape[0])
            d[rows, rows + start] = float("inf")
        out.append(d.topk(k, dim=1, largest=False).indices)
    return torch.cat(out)


def local_support_vectors(
    queries: Tensor,
    query_labels: Tensor,
    references: Tensor,
    reference_labels: Tensor,
    ks: Sequence[int] = (1, 3, 5),
    exclude_self: bool = False,
) -> dict[int, int]:
    """``{k: |Γ^k|}``: the number of k-Local Support Vectors among ``queries`` ``(Q, D)``, neighbours taken among
    ``references`` ``(R, D)`` (see the module docstring for the recursive definition).

    Raises:
        ValueError: an empty ``ks``, a ``k`` < 1, or more neighbours than references.
    """
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be integers >= 1, got {ks}")
    neighbours = nearest_neighbours(queries, references, max(ks), exclude_self)
    wrong = reference_labels[neighbours] != query_labels[:, None]  # (Q, K): the l-th neighbour disagrees
    member = wrong[:, 0].clone()  # Γ¹
    counts = {1: int(member.sum())}
    for k in range(1, max(ks)):  # Γ^k → Γ^{k+1}
        member &= wrong[:, : k + 1].sum(1) > (k + 1) / 2
        counts[k + 1] = int(member.sum())
    return {k: counts[k] for k in ks}


def nearest_neighbour_accuracy(queries: Tensor, query_labels: Tensor, references: Tensor, reference_labels: Tensor) -> float:
    """Accuracy of the 1-nearest-neighbour classifier (Euclidean): a fraction in [0, 1]."""
    nearest = nearest_neighbours(queries, references, 1)[:, 0]
    return float((reference_labels[nearest] == query_labels).double().mean())
