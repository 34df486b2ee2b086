"""The radial split of Wang et al. (CVPR 2020) against the reference formula, the kernel smoothing against scipy, and
the HFC measure pinned to a known answer: a classifier that only ever saw ``x_l`` is at chance on ``x_h``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d
from torch import nn

from gennet.analysis import first_convolution, radial_split, smooth_kernels, split_accuracy
from gennet.data import MNIST5kDataModule
from gennet.errors import ConfigError
from gennet.models import HybridScatteringNet


def reference_low_pass(image: np.ndarray, r: float) -> np.ndarray:
    """HFC's split written from the paper: the centred spectrum (fftshift) kept where the distance to the centre
    (N/2, N/2) is below r (a binary mask), then inverse-shifted."""
    H, W = image.shape
    i, j = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    mask = np.sqrt((i - H / 2) ** 2 + (j - W / 2) ** 2) < r
    spectrum = np.fft.fftshift(np.fft.fft2(image)) * mask
    return np.real(np.fft.ifft2(np.fft.ifftshift(spectrum)))


@pytest.mark.parametrize("r", [2, 4, 8.5, 16])
def test_radial_split_is_the_papers_mask_and_sums_to_the_image(r):
    x = torch.randn(3, 2, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    low, high = radial_split(x, r)
    assert torch.allclose(low + high, x)
    expected = np.stack([[reference_low_pass(c, r) for c in image] for image in x.numpy()])
    assert np.allclose(low.numpy(), expected, atol=1e-12)
    spectrum = torch.fft.fft2(high).abs()
    k = torch.fft.fftfreq(32, 1 / 32)
    inside = (k[:, None] ** 2 + k[None] ** 2) < r**2
    assert spectrum[..., inside].max() < 1e-9 and torch.fft.fft2(low).abs()[..., ~inside].max() < 1e-9


@pytest.mark.parametrize("rho", [0.0, 0.25, 1.0])
@pytest.mark.parametrize("size", [1, 3, 7])
def test_kernel_smoothing_is_scipys_symmetric_convolution(rho, size):
    weight = torch.randn(4, 3, size, size, dtype=torch.float64, generator=torch.Generator().manual_seed(size))
    mask = np.full((3, 3), rho)
    mask[1, 1] = 1
    expected = np.stack([[convolve2d(k, mask, boundary="symm", mode="same") for k in o] for o in weight.numpy()])
    assert np.allclose(smooth_kernels(weight, rho).numpy(), expected, atol=1e-12)


def test_first_convolution_of_the_hybrid_is_its_stem():
    name, conv = first_convolution(HybridScatteringNet((32, 32), 1, 10, J=2, widths=[8], blocks=[1]))
    assert name == "stem.0" and conv.in_channels == 81


def test_paradox_count_by_brute_force():
    """A 'classifier' that answers 0 when the image's high part has more energy than its low part, 1 otherwise."""
    torch.manual_seed(1)
    images, labels = torch.randn(40, 1, 16, 16), torch.randint(0, 2, (40,))

    def f(x):
        low, high = radial_split(x, 3)
        score = (x.flatten(1) - low.flatten(1)).norm(dim=1) - low.flatten(1).norm(dim=1)
        return torch.stack([score, -score], 1)

    (result,) = split_accuracy(f, images, labels, [3], batch_size=7)
    low, high = radial_split(images, 3)
    on_low, on_high = f(low).argmax(1) == labels, f(high).argmax(1) == labels
    assert result.low == pytest.approx(on_low.double().mean().item()) and result.high == pytest.approx(on_high.double().mean().item())
    assert result.paradox == int((on_high & ~on_low).sum()) and result.both == int((on_high & on_low).sum())


def test_a_network_that_only_saw_low_frequencies_is_at_chance_on_high_frequencies():
    """Trained through ``data.frequency_filter=low:4`` on the digits: a linear classifier started at zero and trained
    by gradient descent only ever moves inside the span of low-frequency images, so on ``x_h`` it answers one
    class — chance, the share of that class — while it reads ``x_l`` well. (Adam would not do: its per-coordinate
    scaling leaves that span.)"""
    datamodule = MNIST5kDataModule(frequency_filter="low:4", batch_size=200)
    datamodule.setup()
    train = torch.stack([datamodule.train_dataset[i][0] for i in range(len(datamodule.train_dataset))])
    labels = datamodule.train_dataset.dataset.tensors[1]
    test_images, test_labels = datamodule.test_dataset.tensors
    assert torch.allclose(radial_split(train, 4)[0], train, atol=1e-5)  # the training images are x_l
    assert not torch.allclose(radial_split(test_images, 4)[0], test_images, atol=1e-3)  # the test images are originals
    net = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 10))
    nn.init.zeros_(net[1].weight)
    nn.init.zeros_(net[1].bias)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for step in range(150):
        batch = torch.arange(step * 200, step * 200 + 200) % len(train)
        loss = nn.functional.cross_entropy(net(train[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    (result,) = split_accuracy(net, test_images, test_labels, [4])
    predicted = net(radial_split(test_images, 4)[1]).argmax(1)
    assert result.low > 0.6
    share = (test_labels == predicted[0]).double().mean().item()
    assert result.high == pytest.approx(share, abs=1e-12) and result.high < 0.15 and result.paradox <= (test_labels == predicted[0]).sum()


def test_frequency_views_of_the_data_module():
    flipped = MNIST5kDataModule(frequency_flip=True)
    flipped.setup()
    plain = MNIST5kDataModule()
    plain.setup()
    from gennet.transforms import dct_flip

    for split in ("train_dataset", "val_dataset", "test_dataset"):
        x, y = getattr(flipped, split)[3]
        x0, y0 = getattr(plain, split)[3]
        assert y == y0 and torch.allclose(dct_flip(x), x0, atol=1e-5)
    for spec in ("mid:4", "low", "low:-1", "high:x", "low:inf"):
        with pytest.raises(ConfigError, match="data.frequency_filter"):
            MNIST5kDataModule(frequency_filter=spec)
    with pytest.raises(ConfigError, match="data.frequency_flip"):
        MNIST5kDataModule(frequency_flip="yes")
