"""Knowledge consistency between two trained networks (DESIGN §15).

Liang, Li, Wang, Zhang, Wu & Zhang (Q. Zhang), "Knowledge consistency between neural networks and beyond",
ICLR 2020: the features ``x_A`` of network A are reconstructed from the features ``x_B`` of network B by a
map ``g_k`` of "fuzziness" order ``k``; what ``g_k(x_B)`` explains is knowledge A shares with B, the rest
``x^Δ = x_A − g_k(x_B)`` is inconsistent. Between two trainings of one architecture that differ only by the
seed, ``Var(x^Δ) / Var(x_A)`` measures the instability of learning (the paper's Table 1: 0.086–0.776).

Here ``g_0`` is affine (least squares), ``g_1`` has one hidden ReLU layer and ``g_2`` two (a simplification of
the paper's parallel branches of increasing order: the best reconstruction with at most ``k`` ReLU layers),
fitted on training features and evaluated on held-out ones. Features: the input of the network's last
``nn.Linear`` (its penultimate representation, one vector per image).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["penultimate_features", "unexplained_variance", "knowledge_consistency"]


@torch.no_grad()
def penultimate_features(network: nn.Module, images: Tensor, batch_size: int = 256) -> Tensor:
    """The input of the last ``nn.Linear`` registered in ``network`` (eval mode): ``(N, D)`` float32.

    Raises:
        ValueError: ``network`` has no ``nn.Linear``.
    """
    last = [m for m in network.modules() if isinstance(m, nn.Linear)]
    if not last:
        raise ValueError(f"{type(network).__name__} has no nn.Linear layer")
    captured: list[Tensor] = []
    handle = last[-1].register_forward_pre_hook(lambda _m, inputs: captured.append(inputs[0].flatten(1).float().cpu()))
    try:
        for x in images.split(batch_size):
            network(x)
    finally:
        handle.remove()
    return torch.cat(captured)


def unexplained_variance(target: Tensor, reconstruction: Tensor) -> float:
    """``Σ‖x − x̂‖² / Σ‖x − x̄‖²`` over samples and dimensions (``x̄`` the mean of ``target`` ``(N, D)``)."""
    return float((target - reconstruction).pow(2).sum() / (target - target.mean(0)).pow(2).sum().clamp_min(1e-300))


def _fit_mlp(source: Tensor, target: Tensor, layers: int, hidden: int, steps: int, lr: float, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    modules, width = [], source.shape[1]
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    g = nn.Sequential(*modules, nn.Linear(width, target.shape[1]))
    optimizer = torch.optim.Adam(g.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        loss = F.mse_loss(g(source), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return g.eval()


def knowledge_consistency(
    source_train: Tensor, target_train: Tensor, source_test: Tensor, target_test: Tensor, orders: Sequence[int] = (0, 1, 2),
    hidden: int = 128, steps: int = 200, lr: float = 3e-3, ridge: float = 1e-3, seed: int = 0,
) -> dict[int, float]:
    """``{k: Var(x_A − g_k(x_B)) / Var(x_A)}`` on the test features: the fraction of A's features that B's do
    not explain at fuzziness order ``k`` (0 = fully consistent, 1 = nothing shared).

    Features are standardized with the training statistics of each network (per dimension) before fitting.
    ``g_0``: ridge least squares (``ridge`` relative to the mean eigenvalue); ``g_k``, ``k ≥ 1``: ``k`` hidden
    ReLU layers of ``hidden`` units, Adam with a cosine schedule for ``steps`` full-batch steps.

    Raises:
        ValueError: training or test features of mismatched lengths, or an order < 0.
    """
    if len(source_train) != len(target_train) or len(source_test) != len(target_test):
        raise ValueError("source and target features must describe the same images")
    if min(orders) < 0:
        raise ValueError(f"orders must be >= 0, got {list(orders)}")

    def standardize(train: Tensor, test: Tensor) -> tuple[Tensor, Tensor]:
        mean, std = train.mean(0), train.std(0).clamp_min(1e-6)
        return (train - mean) / std, (test - mean) / std

    xb, xb_test = standardize(source_train.double(), source_test.double())
    xa, xa_test = standardize(target_train.double(), target_test.double())
    out = {}
    for k in orders:
        if k == 0:
            design = torch.cat([xb, torch.ones(len(xb), 1, dtype=xb.dtype)], 1)
            gram = design.T @ design
            gram += ridge * gram.diagonal().mean() * torch.eye(len(gram), dtype=gram.dtype)
            weights = torch.linalg.solve(gram, design.T @ xa)
            reconstruction = torch.cat([xb_test, torch.ones(len(xb_test), 1, dtype=xb.dtype)], 1) @ weights
        else:
            g = _fit_mlp(xb.float(), xa.float(), k, hidden, steps, lr, seed)
            with torch.no_grad():
                reconstruction = g(xb_test.float()).double()
        out[k] = unexplained_variance(xa_test, reconstruction)
    return out
