"""Lipschitz bounds against brute force on tiny operators and networks: exact for one linear convolution,
never below the empirical ratio for a nonlinear network (Scaman & Virmaux 2018)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from gennet.analysis import empirical_lipschitz, lipschitz_upper_bound, network_stages, operator_norm
from gennet.analysis.lipschitz import circular_bound
from gennet.models import HybridScatteringNet


def dense_matrix(linear, input_shape) -> torch.Tensor:
    """The matrix of a linear map, column by column (brute force)."""
    n = int(torch.tensor(input_shape).prod())
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *input_shape)
    with torch.no_grad():
        return torch.stack([linear(e[None]).flatten() for e in basis], dim=1)


def spectral_norm(matrix: torch.Tensor) -> float:
    return torch.linalg.matrix_norm(matrix, ord=2).item()


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 1), (2, 0)])
def test_operator_norm_of_a_convolution_equals_the_dense_singular_value(stride, padding):
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, stride=stride, padding=padding, bias=False).double()
    exact = spectral_norm(dense_matrix(conv, (2, 7, 7)))
    assert operator_norm(conv, (2, 7, 7)) == pytest.approx(exact, rel=1e-5)


@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(stride=2, padding=1), dict(padding=2, dilation=2), dict(groups=2, padding=1)])
def test_circular_embedding_bound_is_above_the_exact_norm(kwargs):
    """Sedghi et al. (2019): the circular convolution containing the layer bounds it from above (not tightly)."""
    torch.manual_seed(6)
    conv = nn.Conv2d(2, 4, 3, bias=False, **kwargs).double()
    scale = torch.rand(4, dtype=torch.float64) + 0.5
    exact = spectral_norm(dense_matrix(lambda x: conv(x) * scale[None, :, None, None], (2, 6, 6)))
    assert exact <= circular_bound(conv, scale, (2, 6, 6)) <= 3 * exact


def test_an_unconverged_iteration_falls_back_on_the_certified_bound():
    torch.manual_seed(7)
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False).eval()
    exact = spectral_norm(dense_matrix(conv.double(), (3, 8, 8)))
    conv.float()
    (row,), _ = lipschitz_upper_bound([("conv", conv)], torch.zeros(1, 3, 8, 8), n_iter=2)
    assert "circular" in row.detail and row.bound >= exact


def test_a_single_convolution_bound_is_exact_and_reached_by_gradient_ascent():
    """For a linear layer the per-layer bound is its norm, and gradient ascent on pairs finds it."""
    torch.manual_seed(1)
    conv = nn.Conv2d(2, 3, 3, padding=1).eval()  # with a bias: an affine map, same constant
    rows, product = lipschitz_upper_bound([("conv", conv)], torch.zeros(1, 2, 6, 6))
    exact = spectral_norm(dense_matrix(lambda x: nn.functional.conv2d(x, conv.weight.double(), None, padding=1), (2, 6, 6)))
    assert len(rows) == 1 and rows[0].input_shape == (2, 6, 6)
    assert product == pytest.approx(exact, rel=1e-5)
    x, y = torch.randn(4, 2, 6, 6), torch.randn(4, 2, 6, 6)
    found = empirical_lipschitz(conv, x, y, steps=150, lr=0.05)
    assert found["final"] == pytest.approx(exact, rel=2e-3) and found["final"] <= exact * (1 + 1e-4)


def test_batchnorm_is_folded_into_the_convolution_before_it():
    torch.manual_seed(2)
    conv, bn = nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
    bn.running_var.uniform_(0.1, 3.0)
    bn.weight.data.uniform_(-2, 2)
    block = nn.Sequential(conv, bn).eval()
    rows, product = lipschitz_upper_bound([("block", block)], torch.zeros(1, 3, 5, 5))
    exact = spectral_norm(dense_matrix(lambda x: block.double()(x) - block.double()(torch.zeros_like(x)), (3, 5, 5)))
    block.float()
    assert len(rows) == 1 and product == pytest.approx(exact, rel=1e-5)


def test_pooling_norms_equal_the_dense_singular_values():
    for pool, shape in ((nn.AvgPool2d(2), (1, 6, 6)), (nn.AdaptiveAvgPool2d(1), (2, 4, 4)), (nn.AvgPool2d(3, stride=1), (1, 5, 5))):
        rows, product = lipschitz_upper_bound([("pool", pool)], torch.zeros(1, *shape))
        assert product == pytest.approx(spectral_norm(dense_matrix(pool, shape)), rel=1e-5), pool


def _tiny_network() -> nn.Sequential:
    torch.manual_seed(3)
    downsample = nn.Sequential(nn.Conv2d(4, 6, 1, stride=2, bias=False), nn.BatchNorm2d(6))
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
        BasicBlock(4, 4), BasicBlock(4, 6, stride=2, downsample=downsample),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5),
    )
    for module in net.modules():  # non-trivial eval-mode statistics
        if isinstance(module, nn.BatchNorm2d):
            module.running_var.uniform_(0.2, 2.0)
            module.running_mean.normal_()
            module.weight.data.uniform_(0.5, 1.5)
    return net.eval()


def test_bound_of_a_tiny_residual_network_is_above_every_ratio_found():
    net = _tiny_network()
    rows, product = lipschitz_upper_bound(network_stages(net), torch.zeros(1, 2, 8, 8))
    assert [row.operator.split("(")[0] for row in rows] == ["Conv2d", "BasicBlock ρ", "BasicBlock ρ", "AdaptiveAvgPool2d", "Linear"]
    blocks = [row for row in rows if row.operator.startswith("BasicBlock")]
    assert "1 (identity)" in blocks[0].detail and "identity" not in blocks[1].detail
    torch.manual_seed(4)
    x, y = torch.randn(8, 2, 8, 8), torch.randn(8, 2, 8, 8)
    near = x + 1e-3 * torch.randn_like(x)
    found = max(empirical_lipschitz(net, x, y, steps=60, lr=0.05)["final"], empirical_lipschitz(net, x, near, steps=60, lr=0.05)["final"])
    assert 0 < found <= product
    # each residual block on its own: its bound is above the norm of its Jacobian at random points
    block = net[3]
    (block_row,) = [row for row in rows if row.name == "3"]
    for point in torch.randn(5, 1, 4, 8, 8):
        jacobian = torch.autograd.functional.jacobian(block, point).reshape(4 * 64, 4 * 64)
        assert spectral_norm(jacobian.double()) <= block_row.bound * (1 + 1e-5)


def test_hybrid_bounds_and_the_scattering_is_non_expansive_in_practice():
    """Every layer of a (tiny) hybrid has a rule; the scattering alone never shows a ratio above 1."""
    net = HybridScatteringNet((16, 16), 1, 3, J=1, L=4, widths=(4,), blocks=(1,)).eval()
    rows, product = lipschitz_upper_bound(network_stages(net), torch.zeros(1, 1, 16, 16))
    assert product is not None and all(row.bound is not None for row in rows)
    assert rows[0].name == "scattering.transform" and rows[0].bound == 1.0
    torch.manual_seed(5)
    x = torch.randn(4, 1, 16, 16)
    assert empirical_lipschitz(net.scattering, x, x + 0.1 * torch.randn_like(x), steps=100, lr=0.05)["final"] <= 1.0
    assert empirical_lipschitz(net, x, torch.randn(4, 1, 16, 16), steps=20)["final"] <= product


def test_a_layer_without_a_rule_has_no_bound_and_no_product():
    rows, product = lipschitz_upper_bound([("conv", nn.Conv2d(1, 1, 3)), ("square", torch.square)], torch.zeros(1, 1, 5, 5))
    assert product is None and rows[-1].bound is None and rows[-1].detail == "not a module"
