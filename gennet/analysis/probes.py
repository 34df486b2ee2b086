"""Layer-by-layer probes: how linearly separable the classes are at each stage, against a randomly initialized control.

Jacobsen, Smeulders & Oyallon (ICLR 2018, §4.2, Fig. 5) train a linear SVM and a 1-nearest-neighbour classifier on
the output of each block of a trained i-RevNet: both rise with depth, although no block loses information — the
*progressive separation* of seeds 000 and 004 (also Oyallon, CVPR 2017). Here the probe is multinomial logistic
regression (a linear classifier, as the paper's SVM) on the stage's features averaged over space (``stage_features``
of :mod:`gennet.analysis.separation`), standardized with the training features' statistics, fitted by L-BFGS in
float64 (the same optimum as scikit-learn's ``LogisticRegression(C = 1/(λN))``; tests compare them).

The control is the same architecture with random weights (:func:`random_control`): what the architecture alone,
without training, gives at each stage.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["fit_linear_probe", "linear_probe_accuracy", "random_control"]


def fit_linear_probe(features: Tensor, labels: Tensor, num_classes: int, weight_decay: float = 1e-3,
                     max_iter: int = 500, tol: float = 1e-9) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Multinomial logistic regression on standardized ``features`` ``(N, D)``: minimizes
    ``(1/N) Σᵢ CE(W fᵢ + b, yᵢ) + (λ/2)‖W‖²`` (``λ = weight_decay``, ``b`` free) by L-BFGS in float64.

    Returns ``(W (K, D), b (K,), mean (D,), std (D,))``; predict with ``((f − mean)/std) Wᵀ + b``. Features of zero
    variance are left unscaled (``std`` 1).

    Raises:
        ValueError: fewer than 2 samples, labels outside ``[0, num_classes)``, a negative ``weight_decay``.
    """
    if features.ndim != 2 or features.shape[0] < 2 or features.shape[0] != labels.shape[0]:
        raise ValueError(f"need features (N >= 2, D) and N labels, got {tuple(features.shape)} and {tuple(labels.shape)}")
    if labels.min() < 0 or labels.max() >= num_classes or weight_decay < 0:
        raise ValueError(f"labels must be in [0, {num_classes}) and weight_decay >= 0, got {weight_decay}")
    f = features.double()
    mean, std = f.mean(0), f.std(0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    f = (f - mean) / std
    W = torch.zeros(num_classes, f.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([W, b], lr=1, max_iter=max_iter, tolerance_grad=tol, tolerance_change=tol * 1e-3,
                                  history_size=20, line_search_fn="strong_wolfe")
    labels = labels.long()

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(f @ W.T + b, labels) + 0.5 * weight_decay * W.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return W.detach(), b.detach(), mean, std


def linear_probe_accuracy(train: Tensor, train_labels: Tensor, test: Tensor, test_labels: Tensor,
                          num_classes: int | None = None, weight_decay: float = 1e-3) -> dict[str, float]:
    """Fit :func:`fit_linear_probe` on ``train`` ``(N, D)`` and return ``{"train": …, "test": …}`` accuracies in [0, 1]."""
    K = int(max(train_labels.max(), test_labels.max())) + 1 if num_classes is None else num_classes
    W, b, mean, std = fit_linear_probe(train, train_labels, K, weight_decay)

    def accuracy(f: Tensor, y: Tensor) -> float:
        return float((((f.double() - mean) / std @ W.T + b).argmax(1) == y).double().mean())

    return {"train": accuracy(train, train_labels), "test": accuracy(test, test_labels)}


@torch.no_grad()
def random_control(network: nn.Module, batches: Iterable[Tensor], seed: int = 0) -> nn.Module:
    """A copy of ``network`` with random weights: every submodule with ``reset_parameters`` (convolutions, linear
    layers, BatchNorm) drawn again from its initialization under ``torch.manual_seed(seed)``; fixed operators
    without learned weights (scattering filters, a fitted standardization) are kept. The BatchNorm statistics are
    then estimated on ``batches`` (images ``(B, C, H, W)``, cumulative average, no gradient), so that the random
    network normalizes its own activations as a trained one does. Returned in eval mode; ``network`` is unchanged.
    """
    control = copy.deepcopy(network).eval()
    norms = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in control.modules():
            if hasattr(module, "reset_parameters") and module is not control:
                module.reset_parameters()
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
                module.reset_running_stats()
                module.momentum = None  # cumulative average over the batches
                norms.append(module)
    if norms:
        for module in norms:
            module.train()
        for x in batches:
            control(x)
        for module in norms:
            module.eval()
    return control
