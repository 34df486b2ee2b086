"""Knowledge consistency pinned to its two ends: features that are an invertible linear map of each other are fully
consistent at order 0; independent features are not explained at any order."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gennet.analysis import knowledge_consistency, penultimate_features


def test_linearly_related_features_are_consistent_and_independent_ones_are_not():
    generator = torch.Generator().manual_seed(0)
    a_train, a_test = torch.randn(600, 16, generator=generator), torch.randn(200, 16, generator=generator)
    mixing = torch.randn(16, 16, generator=generator) + 4 * torch.eye(16)
    related = knowledge_consistency(a_train @ mixing + 1.0, a_train, a_test @ mixing + 1.0, a_test, orders=(0, 1), steps=300)
    assert related[0] < 1e-3 and related[1] < 0.1  # the ReLU map approximates the linear one
    independent = knowledge_consistency(torch.randn(600, 16, generator=generator), a_train,
                                        torch.randn(200, 16, generator=generator), a_test, orders=(0, 2), steps=300)
    assert independent[0] > 0.95 and independent[2] > 0.95


def test_penultimate_features_are_the_input_of_the_last_linear_layer():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 2)).eval()
    x = torch.randn(7, 1, 4, 4)
    assert torch.allclose(penultimate_features(net, x, batch_size=3), net[:5](x))
    with pytest.raises(ValueError, match="no nn.Linear"):
        penultimate_features(nn.Conv2d(1, 1, 1), x)
