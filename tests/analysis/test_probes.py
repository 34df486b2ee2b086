"""Linear probes against scikit-learn's logistic regression, contraction measures against direct formulas, and the
random control (weights drawn again, fixed operators kept, BatchNorm statistics of its own)."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from gennet.analysis import distance_ratio, fit_linear_probe, linear_probe_accuracy, pca_dimension, random_control
from gennet.models import HybridScatteringNet, IRevNet


def blobs(n: int, dim: int, classes: int, spread: float, seed: int):
    """``n`` points around ``classes`` fixed centres (the same for every seed), noise drawn with ``seed``."""
    centres = 3 * torch.randn(classes, dim, generator=torch.Generator().manual_seed(123), dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes
    return centres[labels] + spread * torch.randn(n, dim, generator=g, dtype=torch.float64), labels


def test_linear_probe_is_scikit_learns_logistic_regression():
    """Same objective: (1/N) Σ CE + (λ/2)‖W‖² is scikit-learn's ½‖W‖² + C Σ CE with C = 1/(λN) (multinomial, lbfgs)."""
    from sklearn.linear_model import LogisticRegression

    x, y = blobs(300, 6, 4, 2.5, 0)
    lam = 0.01
    W, b, mean, std = fit_linear_probe(x, y, 4, weight_decay=lam)
    reference = LogisticRegression(C=1 / (lam * len(x)), tol=1e-10, max_iter=10_000).fit(((x - mean) / std).numpy(), y.numpy())
    assert torch.allclose(W, torch.from_numpy(reference.coef_), atol=1e-4, rtol=1e-4)
    # the intercept is free in both: equal up to a common shift of the K classes
    shift = torch.from_numpy(reference.intercept_) - b
    assert torch.allclose(shift, shift.mean().expand(4), atol=1e-4)
    test, test_labels = blobs(200, 6, 4, 2.5, 1)
    ours = linear_probe_accuracy(x, y, test, test_labels, 4, lam)
    theirs = reference.score(((test - mean) / std).numpy(), test_labels.numpy())
    assert abs(ours["test"] - theirs) <= 1 / 200 and 0.5 < ours["test"] < 1


def test_linear_probe_separates_separable_classes_and_refuses_bad_labels():
    x, y = blobs(200, 3, 5, 0.05, 2)
    assert linear_probe_accuracy(x, y, x, y)["test"] == 1.0
    with pytest.raises(ValueError, match="labels"):
        fit_linear_probe(x, y, 4)


def test_pca_dimension_counts_the_components_of_a_planted_subspace():
    g = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(20, 20, generator=g, dtype=torch.float64))[0]
    scales = torch.tensor([10.0, 8, 6, 4] + [0.01] * 16, dtype=torch.float64)
    x = (torch.randn(500, 20, generator=g, dtype=torch.float64) * scales) @ basis.T + 5
    assert pca_dimension(x, 0.9) == 3  # (100 + 64 + 36) / 216 = 0.926 ≥ 0.9 > (100 + 64) / 216, up to sampling
    assert pca_dimension(x, 0.99) == 4 and pca_dimension(x, 1.0) == 20
    with pytest.raises(ValueError):
        pca_dimension(x, 0.0)


def test_distance_ratio_is_the_mean_over_pairs():
    x, y = blobs(30, 4, 3, 1.0, 3)
    intra, inter = [], []
    for i, j in itertools.combinations(range(len(x)), 2):
        (intra if y[i] == y[j] else inter).append(float((x[i] - x[j]).norm()))
    assert distance_ratio(x, y) == pytest.approx(sum(intra) / len(intra) / (sum(inter) / len(inter)), rel=1e-12)
    assert distance_ratio(2 * x + 7, y) == pytest.approx(distance_ratio(x, y), rel=1e-12)  # scale-free
    tight, labels = blobs(30, 4, 3, 0.01, 3)
    assert distance_ratio(tight, labels) < 0.01 < distance_ratio(x, y) < 1


def test_random_control_redraws_weights_keeps_fixed_operators_and_estimates_its_statistics():
    torch.manual_seed(0)
    for network in (IRevNet((32, 32), 1, 10, blocks=(1, 1, 1), strides=(1, 2, 2), widths=(4, 16, 64), init_ds=2, bottleneck=(4, 4, 4)),
                    HybridScatteringNet((32, 32), 1, 10, J=2, widths=(8, 16), blocks=(1, 1))):
        with torch.no_grad():
            for p in network.parameters():
                p.fill_(0.5)  # "trained" weights, far from any initialization
        batches = [torch.randn(16, 1, 32, 32) for _ in range(3)]
        control = random_control(network, batches, seed=0)
        assert all(bool((p == 0.5).all()) for p in network.parameters())  # the original is untouched
        changed = [not torch.equal(a, b) for a, b in zip(network.parameters(), control.parameters())]
        assert all(changed) and not control.training
        again = random_control(network, batches, seed=0)
        assert all(torch.equal(a, b) for a, b in zip(control.state_dict().values(), again.state_dict().values()))
        norms = [m for m in control.modules() if isinstance(m, nn.BatchNorm2d)]
        assert norms and all(int(m.num_batches_tracked) == 3 for m in norms)
        for name, buffer in network.named_buffers():  # fixed filters (the scattering's) are kept
            if "scattering" in name:
                assert torch.equal(buffer, dict(control.named_buffers())[name])
