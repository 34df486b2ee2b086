"""Improved precision and recall of generative models (Kynkäänniemi, Karras, Laine, Lehtinen, Aila, NeurIPS 2019).

Each set of feature vectors approximates its manifold by the union of the balls centred on its points
with radius the distance to their ``k``-th nearest neighbour in the same set (§2, eq. 1–2):

    precision = (1/|fake|) Σ_{φ ∈ fake} 1[φ ∈ manifold(real)],    recall = (1/|real|) Σ_{φ ∈ real} 1[φ ∈ manifold(fake)]

with ``φ ∈ manifold(S)`` iff ``‖φ − s‖₂ ≤ ‖s − NN_k(s, S)‖₂`` for some ``s ∈ S``. Precision: how many samples look
real; recall: how much of the real distribution the samples cover. The computation is torch-fidelity's
(``torch_fidelity.metric_prc``, ≥ 0.4), tested here against a brute-force loop.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["improved_precision_recall"]


def improved_precision_recall(fake: Tensor, real: Tensor, k: int = 3) -> tuple[float, float]:
    """``(precision, recall)`` of ``fake`` features ``(N_fake, F)`` against ``real`` features ``(N_real, F)`` (any float dtype;
    computed in float32 on their device), with ``k``-th nearest-neighbour radii (the paper's default ``k = 3``).

    Raises:
        ValueError: not two 2-D tensors with the same ``F``, ``k < 1``, or fewer than ``k + 1`` points in a set.
    """
    from torch_fidelity.metric_prc import prc_features_to_metric

    if fake.dim() != 2 or real.dim() != 2 or fake.shape[1] != real.shape[1]:
        raise ValueError(f"expected features (N_fake, F) and (N_real, F), got {tuple(fake.shape)} and {tuple(real.shape)}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if min(len(fake), len(real)) < k + 1:
        raise ValueError(f"need at least k + 1 = {k + 1} points in each set, got {len(fake)} fake and {len(real)} real")
    large = max(len(fake), len(real)) > 10_000  # then distances in blocks instead of one N×N matrix
    out = prc_features_to_metric(fake.detach().float(), real.detach().float().to(fake.device), prc_neighborhood=k,
                                 prc_batch_size=10_000, save_cpu_ram=large, verbose=False)
    return float(out["precision"]), float(out["recall"])
