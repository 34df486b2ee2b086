"""captum's FGSM and PGD through :func:`attack_accuracy`, pinned to the exact answer for a two-class affine classifier:
the ℓ∞ attack of radius ε flips exactly the inputs whose margin is below ε‖w_y − w_k‖₁."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gennet.analysis import attack_accuracy


def test_fgsm_and_pgd_on_an_affine_two_class_classifier_flip_exactly_the_inputs_within_reach():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2)).eval()
    x = torch.randn(300, 1, 8, 8) * 0.3
    logits = net(x).detach()
    labels = logits.argmax(1)
    labels[:30] = 1 - labels[:30]  # some misclassified inputs stay misclassified
    W = net[1].weight.detach()
    gap = (logits.gather(1, labels[:, None]) - logits.gather(1, 1 - labels[:, None]))[:, 0]
    l1 = (W[0] - W[1]).abs().sum()
    wide = (-1e9, 1e9)  # no clipping: the exact answer
    results = attack_accuracy(net, x, labels, {"Linf": [0.0, 0.01, 0.05]}, steps=5, bounds=wide, batch_size=128)
    assert [(r.attack, r.epsilon) for r in results] == [("fgsm", 0.0), ("fgsm", 0.01), ("fgsm", 0.05), ("pgd", 0.0), ("pgd", 0.01), ("pgd", 0.05)]
    for result in results:
        expected = (gap > result.epsilon * l1).double().mean().item()
        assert result.accuracy == pytest.approx(expected, abs=1 / 300 + 1e-9), result
    l2 = attack_accuracy(net, x, labels, {"L2": [0.1]}, attacks=["pgd"], steps=20, bounds=wide)
    optimal = (gap > 0.1 * (W[0] - W[1]).norm()).double().mean().item()
    assert l2[0].accuracy >= optimal - 1e-9  # no ℓ2 attack of radius ε beats the distance to the hyperplane


def test_bad_arguments_are_named():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2)).eval()
    x, y = torch.zeros(2, 1, 2, 2), torch.zeros(2, dtype=torch.long)
    with pytest.raises(ValueError, match="L1"):
        attack_accuracy(net, x, y, {"L1": [0.1]})
    with pytest.raises(ValueError, match="epsilon"):
        attack_accuracy(net, x, y, {"Linf": [-0.1]})
