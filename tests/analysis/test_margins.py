"""Subspace DeepFool pinned to the analytic distance of an affine classifier to its boundary inside a subspace, checked
against ART's DeepFool in the full space, the DCT against scipy, and the certified radius below every margin."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
import torch
from torch import nn

from gennet.analysis import (
    certified_radius,
    dct_block_basis,
    diagonal_dct_subspaces,
    library_deepfool,
    lipschitz_upper_bound,
    random_subspace,
    subspace_deepfool,
)
from gennet.transforms import dct2, dct_flip, idct2


def test_dct_is_scipys_orthonormal_dct_and_the_flip_an_involution():
    x = torch.randn(2, 3, 8, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert np.allclose(dct2(x).numpy(), scipy.fft.dctn(x.numpy(), axes=(-2, -1), norm="ortho"), atol=1e-12)
    assert torch.allclose(idct2(dct2(x)), x) and torch.allclose(dct_flip(dct_flip(x)), x)
    assert torch.allclose(dct_flip(x).norm(), x.norm())


def test_dct_block_basis_is_orthonormal_and_spans_its_block():
    basis = dct_block_basis((2, 16, 16), (8, 8), 8).double()
    assert basis.shape == (512, 128) and torch.allclose(basis.T @ basis, torch.eye(128, dtype=torch.float64), atol=1e-6)
    coefficients = dct2(basis.T.reshape(128, 2, 16, 16))
    outside = torch.ones(16, 16, dtype=torch.bool)
    outside[8:, 8:] = False
    assert coefficients[..., outside].abs().max() < 1e-6
    assert [name for name, _ in diagonal_dct_subspaces((1, 32, 32))] == ["dct[0:8]", "dct[8:16]", "dct[16:24]", "dct[24:32]"]


def affine_classifier(seed: int = 0, classes: int = 10) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, classes)).eval()


def analytic_margin(net: nn.Module, x: torch.Tensor, basis: torch.Tensor | None) -> torch.Tensor:
    """min over k ≠ ŷ of (f_ŷ − f_k) / ‖Pᵀ(w_ŷ − w_k)‖: the distance to the nearest boundary within span(P), one class
    pair at a time (brute force)."""
    W = net[1].weight.detach().double()
    logits = net(x).detach().double()
    out = []
    for f, y in zip(logits, logits.argmax(1)):
        distances = []
        for k in range(W.shape[0]):
            if k != y:
                w = W[y] - W[k]
                norm = w.norm() if basis is None else (w @ basis.double()).norm()
                distances.append((f[y] - f[k]) / norm)
        out.append(min(distances))
    return torch.stack(out)


@pytest.mark.parametrize("subspace", ["full", "dct[0:8]", "dct[24:32]", "random"])
def test_subspace_deepfool_margin_of_an_affine_classifier_is_the_analytic_distance(subspace):
    net = affine_classifier()
    x = torch.randn(12, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    bases = dict(diagonal_dct_subspaces((1, 32, 32)), full=None, random=random_subspace(1024, 64, seed=3))
    result = subspace_deepfool(net, x, bases[subspace])
    exact = analytic_margin(net, x, bases[subspace])
    assert bool(result.flipped.all()) and int(result.iterations.max()) == 1
    assert torch.allclose(result.margin.double(), exact, rtol=0.01)
    if bases[subspace] is not None:  # the perturbation lies in the subspace
        P = bases[subspace]
        inside = (result.perturbation.flatten(1) @ P) @ P.T
        assert torch.allclose(inside, result.perturbation.flatten(1), atol=1e-5)


def test_the_library_deepfool_agrees_with_ours_in_the_full_space():
    """ART's DeepFool (full space) against ours, on the affine classifier (both exact) and on a small ReLU network."""
    x = torch.randn(10, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    net = affine_classifier(4)
    assert torch.allclose(library_deepfool(net, x, 10), subspace_deepfool(net, x).margin, rtol=0.01)
    torch.manual_seed(5)
    relu = nn.Sequential(nn.Flatten(), nn.Linear(1024, 64), nn.ReLU(), nn.Linear(64, 10)).eval()
    ours = subspace_deepfool(relu, x, overshoot=0.0, max_iter=100)
    assert bool(ours.flipped.all())
    ratio = ours.margin / library_deepfool(relu, x, 10, max_iter=100)
    assert ratio.median().item() == pytest.approx(1.0, abs=0.01) and ratio.min() > 0.9 and ratio.max() < 1.1


def test_the_certified_radius_is_below_every_margin():
    """(f_y − max f_k)/(√2 L) with L the product of the layer bounds can never exceed the distance to the boundary."""
    torch.manual_seed(6)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 16 * 16, 10)).eval()
    x = torch.randn(8, 1, 16, 16)
    _, L = lipschitz_upper_bound([("net", net)], x[:1])
    logits = net(x).detach()
    radius = certified_radius(logits, logits.argmax(1), L)
    margin = subspace_deepfool(net, x).margin
    assert bool((radius > 0).all()) and bool((radius <= margin).all())
    with pytest.raises(ValueError, match="Lipschitz"):
        certified_radius(logits, logits.argmax(1), 0.0)
