"""i-RevNet (DESIGN §14): ψ and each block as theorems (a permutation, exact inverses), both variants' dimensions,
the paper's ImageNet network, the reversible backward against the stored one (gradients and saved bytes), bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gennet.analysis import network_stages
from gennet.models import IRevNet
from gennet.models.irevnet import CouplingBlock, InjectivePad, SpaceToDepth

DIGITS = dict(blocks=(2, 2, 2), strides=(1, 2, 2), init_ds=2, bottleneck=(8, 8, 8))


def trained_like(net: nn.Module, x: torch.Tensor) -> nn.Module:
    """BatchNorm running statistics of a few train-mode passes (so that eval mode is not the identity), then eval."""
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(x + 0.1 * torch.randn_like(x))
    return net.eval()


@pytest.mark.parametrize("block", [2, 4])
def test_psi_is_a_permutation_of_the_values(block):
    """ψ maps the basis images one-to-one onto basis images: a permutation matrix (so ‖ψx‖ = ‖x‖ and ψ⁻¹ = ψᵀ)."""
    psi = SpaceToDepth(block)
    C, H, W = 3, 2 * block, 3 * block
    n = C * H * W
    basis = torch.eye(n, dtype=torch.float64).reshape(n, C, H, W)
    image = psi(basis)
    assert image.shape == (n, C * block**2, H // block, W // block)
    matrix = image.reshape(n, n)
    assert torch.equal(matrix.sum(0), torch.ones(n, dtype=torch.float64)) and torch.equal(matrix.sum(1), torch.ones(n, dtype=torch.float64))
    assert set(matrix.unique().tolist()) == {0.0, 1.0}
    x = torch.randn(4, C, H, W, dtype=torch.float64)
    assert torch.equal(psi.inverse(psi(x)), x) and torch.equal(psi(psi.inverse(psi(x))), psi(x))
    assert torch.allclose(psi(x).flatten(1).norm(dim=1), x.flatten(1).norm(dim=1), rtol=1e-15)


@pytest.mark.parametrize("stride", [1, 2])
def test_coupling_block_inverse_is_exact_and_follows_the_papers_equation(stride):
    """(x₁, x₂) ↦ (S x₂, S x₁ + F(x₂)) and x₂ = S⁻¹y₁, x₁ = S⁻¹(y₂ − F(x₂)) for a random F in train and eval mode."""
    torch.manual_seed(0)
    block = CouplingBlock(4, 6, stride).double()
    x = torch.randn(3, 8, 8, 8, dtype=torch.float64)
    for mode in (True, False):
        block.train(mode)
        y = block(x)
        assert y.shape == (3, 8 * stride**2, 8 // stride, 8 // stride)
        x1, x2 = x.chunk(2, 1)
        psi = SpaceToDepth(stride)
        assert torch.equal(y[:, : 4 * stride**2], psi(x2))
        assert torch.allclose(y[:, 4 * stride**2 :], psi(x1) + block.residual(x2), atol=1e-14)
        assert (block.inverse(y) - x).abs().max() < 1e-13
        if not mode:  # in eval mode F is one function: the block is a bijection, forward ∘ inverse too
            assert (block(block.inverse(y)) - y).abs().max() < 1e-13


def test_injective_pad_appends_zeros_to_each_half_and_inverts_exactly():
    pad = InjectivePad(3, 5)
    x = torch.randn(2, 3, 4, 4)
    y = pad(x)
    assert y.shape == (2, 10, 4, 4) and torch.equal(y[:, :1], x[:, :1]) and torch.equal(y[:, 5:7], x[:, 1:])
    assert y[:, 1:5].abs().max() == 0 and y[:, 7:].abs().max() == 0
    assert torch.equal(pad.inverse(y), x)
    assert y.norm() == x.norm()  # an isometry onto its range


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-4), (torch.float64, 1e-10)])
@pytest.mark.parametrize("variant", ["injective", "bijective"])
def test_whole_network_inverse_in_eval_mode(dtype, tolerance, variant):
    torch.manual_seed(0)
    widths = (16, 64, 256) if variant == "injective" else (2, 8, 32)
    net = IRevNet((32, 32), 1, 10, widths=widths, **DIGITS).to(dtype)
    x = torch.randn(8, 1, 32, 32, dtype=dtype)
    net = trained_like(net, x)
    with torch.no_grad():
        z = net.features(x)
        error = (net.inverse(z) - x).abs().max().item()
    assert error <= tolerance
    assert net.injective == (variant == "injective")
    if variant == "bijective":
        assert z[0].numel() == x[0].numel() == 1024 and net.feature_shape == (64, 4, 4)
        with torch.no_grad():  # a bijection: Φ(Φ⁻¹(z)) = z for any z, not only images
            w = torch.randn_like(z)
            assert (net.features(net.inverse(w)) - w).abs().max().item() <= 100 * tolerance
    else:
        assert z[0].numel() == 512 * 4 * 4 > x[0].numel()


def test_paper_imagenet_network_is_bijective_with_125M_parameters():
    """i-RevNet (b): blocks 6-16-72-6, strides 2, widths 24-96-384-1536, init_ds 2: Φ has 3072×7×7 = 3·224² values and
    the network 125.1M parameters (the paper's Table 1: 125M)."""
    net = IRevNet((224, 224), 3, 1000, blocks=(6, 16, 72, 6), strides=(2, 2, 2, 2), widths=(24, 96, 384, 1536), init_ds=2)
    assert net.feature_shape == (3072, 7, 7) and 3072 * 49 == 3 * 224 * 224 and not net.injective
    assert round(sum(p.numel() for p in net.parameters()) / 1e6, 1) == 125.1


def test_stages_compose_to_the_logits_and_bottleneck_is_independent_of_the_width():
    torch.manual_seed(0)
    net = IRevNet((32, 32), 1, 10, widths=(2, 8, 32), **dict(DIGITS, bottleneck=(32, 48, 64))).eval()
    convs = [m for m in net.stage1[0].residual if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(2, 32), (32, 32), (32, 2)]
    x = torch.randn(2, 1, 32, 32)
    stages = network_stages(net)
    assert [name for name, _ in stages] == ["init", "stage1", "stage2", "stage3", "pool", "fc"]
    z = x
    with torch.no_grad():
        for _, stage in stages:
            z = stage(z)
        assert torch.allclose(z, net(x), atol=1e-6)


def reversible_pair(blocks: int, dtype: torch.dtype = torch.float32, dropout: float = 0.0):
    torch.manual_seed(0)
    kwargs = dict(blocks=(blocks // 3,) * 3, strides=(1, 2, 2), widths=(8, 32, 128), init_ds=2, bottleneck=(8, 8, 8), dropout=dropout)
    stored = IRevNet((32, 32), 1, 10, **kwargs).to(dtype)
    reversible = IRevNet((32, 32), 1, 10, reversible=True, **kwargs).to(dtype)
    reversible.load_state_dict(stored.state_dict())
    return stored, reversible


def gradients(net: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int = 1):
    torch.manual_seed(seed)  # the same dropout masks in both networks
    net.train().zero_grad()
    x = x.clone().requires_grad_(True)
    nn.functional.cross_entropy(net(x), y).backward()
    return [x.grad] + [p.grad for p in net.parameters()]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_reversible_backward_gives_the_stored_gradients(dropout, dtype):
    """Gomez et al. 2017, 12 blocks: the same gradients (w.r.t. the input and every parameter, all together) to 1e-5
    relative in float32 and 1e-10 per tensor in float64; the same BatchNorm running statistics afterwards (the
    recomputation does not update them twice); dropout masks replayed (else the gradients would differ at 1e-1)."""
    stored, reversible = reversible_pair(12, dtype, dropout)
    x, y = torch.randn(8, 1, 32, 32, dtype=dtype), torch.arange(8) % 10
    expected, found = gradients(stored, x, y), gradients(reversible, x, y)
    difference = torch.cat([(a - b).flatten() for a, b in zip(expected, found)])
    assert difference.norm() <= 1e-5 * torch.cat([a.flatten() for a in expected]).norm()
    worst = max(((a - b).norm() / a.norm()).item() for a, b in zip(expected, found))
    assert worst <= (1e-4 if dtype == torch.float32 else 1e-10)
    for (name, a), b in zip(stored.state_dict().items(), reversible.state_dict().values()):
        assert torch.allclose(a.double(), b.double(), rtol=1e-6, atol=1e-7), name


def test_one_gray_channel_is_read_by_the_first_block_and_differentiated_alike():
    """init_ds = 0 on digits: the gray channel is padded into the half F reads (an all-zero input would make the first
    F a constant, whose ReLUs sit exactly at 0 — where the stored and the rebuilt inputs give different subgradients)."""
    torch.manual_seed(0)
    kwargs = dict(blocks=(2, 1, 1), strides=(1, 2, 2), widths=(4, 16, 64), init_ds=0, bottleneck=(4, 4, 4))
    stored = IRevNet((16, 16), 1, 10, **kwargs).double()
    reversible = IRevNet((16, 16), 1, 10, reversible=True, **kwargs).double()
    reversible.load_state_dict(stored.state_dict())
    x, y = torch.randn(4, 1, 16, 16, dtype=torch.float64), torch.arange(4)
    expected, found = gradients(stored, x, y), gradients(reversible, x, y)
    assert all(a.norm() > 0 for a in expected)  # every parameter learns, the first block's F included
    assert max(((a - b).norm() / a.norm()).item() for a, b in zip(expected, found)) <= 1e-10


def saved_bytes(net: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the distinct tensors autograd keeps for the backward pass of one training step."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = net.train()(x).logsumexp(1).sum()
    loss.backward()
    return sum(storages.values())


def test_reversible_backward_keeps_under_a_third_of_the_bytes_at_12_blocks():
    stored, reversible = reversible_pair(12)
    x = torch.randn(16, 1, 32, 32)
    kept, full = saved_bytes(reversible, x), saved_bytes(stored, x)
    assert kept <= full / 3, (kept, full)


def test_bad_shapes_and_arguments_name_the_culprit():
    net = IRevNet((32, 32), 1, 10, widths=(2, 8, 32), **DIGITS)
    with pytest.raises(ValueError, match=r"features given to inverse must be \(B, 64, 4, 4\), got \(2, 64, 8, 8\)"):
        net.inverse(torch.zeros(2, 64, 8, 8))
    with pytest.raises(ValueError, match=r"images must be \(B, 1, 32, 32\)"):
        net(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match="widths\\[1\\] = 6"):
        IRevNet((32, 32), 1, 10, widths=(2, 6, 32), **DIGITS)
    with pytest.raises(ValueError, match="divisible"):
        IRevNet((36, 36), 1, 10, widths=(2, 8, 32), **DIGITS)
    with pytest.raises(ValueError, match="strides must be 1 or 2"):
        IRevNet((32, 32), 1, 10, widths=(2, 8, 32), **dict(DIGITS, strides=(1, 3, 2)))
    with pytest.raises(ValueError, match="same length"):
        IRevNet((32, 32), 1, 10, widths=(2, 8), **DIGITS)
