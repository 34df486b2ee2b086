"""Reconstruction, interpolation, edition and local conditioning (DESIGN §14) on small i-RevNets whose answers are
known: exact endpoints, a bijection's Jacobians that are inverses of each other, κ = 1 for an orthogonal Φ."""

from __future__ import annotations

import pytest
import torch

from gennet.analysis import class_means, edit_toward, interpolate, is_invertible, local_conditioning, reconstruction_error
from gennet.models import HybridScatteringNet, IRevNet


def small_net(dtype=torch.float64, widths=(2, 8, 32)) -> IRevNet:
    torch.manual_seed(0)
    net = IRevNet((16, 16), 1, 3, blocks=(1, 1, 1), strides=(1, 2, 2), widths=widths, init_ds=2, bottleneck=(6, 6, 6)).to(dtype)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(16, 1, 16, 16, dtype=dtype))
    return net.eval()


def test_protocol():
    assert is_invertible(small_net()) and not is_invertible(HybridScatteringNet((32, 32), 1, 10, J=2, widths=(8,), blocks=(1,)))


def test_reconstruction_and_interpolation_endpoints_are_exact():
    net = small_net()
    x = torch.randn(6, 1, 16, 16, dtype=torch.float64)
    found = reconstruction_error(net, x)
    assert found["max_abs"] < 1e-12 and found["input_values"] == found["feature_values"] == 256
    through_features, through_pixels = interpolate(net, x[:3], x[3:], steps=5)
    assert through_features.shape == through_pixels.shape == (3, 5, 1, 16, 16)
    assert (through_features[:, 0] - x[:3]).abs().max() < 1e-12 and (through_features[:, -1] - x[3:]).abs().max() < 1e-12
    assert torch.allclose(through_pixels[:, 2], (x[:3] + x[3:]) / 2)
    with torch.no_grad():  # the middle image is the inverse of the middle of the segment in Φ
        middle = net.inverse((net.features(x[:3]) + net.features(x[3:])) / 2)
    assert torch.allclose(through_features[:, 2], middle, atol=1e-12)
    with pytest.raises(ValueError):
        interpolate(net, x[:3], x[3:], steps=1)


def three_classes(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise images with a bright 4×4 square in one of three places: the class."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = 0.3 * torch.randn(n, 1, 16, 16, generator=g, dtype=torch.float64)
    for k in range(3):
        x[y == k, :, 2 + 4 * k : 6 + 4 * k, 2 + 4 * k : 6 + 4 * k] += 2
    return x, y


def test_edition_reaches_the_target_class_through_the_class_means():
    net = small_net()
    x, y = three_classes(90, 0)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.train()
    for _ in range(40):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        assert (net(x).argmax(1) == y).double().mean() > 0.9
    means = class_means(net, [(x[:45], y[:45]), (x[45:], y[45:])], 3)
    with torch.no_grad():
        direct = torch.stack([net.features(x[y == k]).mean(0) for k in range(3)])
    assert torch.allclose(means, direct, atol=1e-12)
    target = (y + 1) % 3
    edition = edit_toward(net, x, y, target, means)
    with torch.no_grad():
        predicted = net(edition.images).argmax(1)
    assert torch.equal(predicted[edition.flipped], target[edition.flipped])  # flipped means: the image is classified so
    assert torch.equal(edition.flipped, edition.flipped_features)  # a bijection: the image's Φ is the edited Φ
    assert edition.flipped.double().mean() > 0.9 and bool((edition.alpha[edition.flipped] > 0).all())
    assert torch.isnan(edition.alpha[~edition.flipped]).all()


def test_local_conditioning_of_an_orthogonal_map_is_one_and_of_a_bijection_at_least_one():
    net = small_net()
    x = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    found = local_conditioning(net, x, n_iter=60)
    assert bool((found["kappa"] >= 1 - 1e-9).all())
    # σ_max(∂Φ⁻¹) at Φ(x) is 1/σ_min(∂Φ(x)): against the dense Jacobian of one image. Power iteration approaches from
    # below; the top singular values are close here (1.190, 1.184, 1.181): 0.4% short after 30 iterations, 0.1% after 100
    J = torch.autograd.functional.jacobian(lambda v: net.features(v.reshape(1, 1, 16, 16)).flatten(), x[0].flatten())
    s = torch.linalg.svdvals(J)
    assert s[0].item() * (1 - 1e-2) <= found["sigma_forward"][0].item() <= s[0].item() * (1 + 1e-12)
    assert (1 / s[-1].item()) * (1 - 1e-2) <= found["sigma_inverse"][0].item() <= (1 / s[-1].item()) * (1 + 1e-12)
    psi_only = IRevNet((16, 16), 1, 3, blocks=(1,), strides=(1,), widths=(2,), init_ds=2, bottleneck=(2,)).double().eval()
    with torch.no_grad():
        for p in psi_only.stage1[0].residual.parameters():
            p.zero_()  # F = 0 (the BatchNorm's shift too): Φ = ψ followed by a swap of the halves, orthogonal
    assert torch.allclose(local_conditioning(psi_only, x, n_iter=5)["kappa"], torch.ones(2, dtype=torch.float64), atol=1e-12)
