"""The GPU paths of Scattering2D and of the rectified transform U, run on the CPU: same values and gradients as the
CPU paths, kymatio's values, U⁻¹U = I, any memory format (issue 16). CI has no GPU; both paths run on any device."""

import numpy as np
import pytest
import torch
from kymatio.scattering2d.frontend.torch_frontend import ScatteringTorch2D
from skimage.transform import resize

from gennet.transforms import RectifiedWavelet2D, Scattering2D


def _images(photographs, shape, dtype=torch.float32):
    """(2, 3, M, N): real photographs in [0, 1], the last channel of the second image Gaussian noise."""
    names = ("camera", "astronaut", "coffee", "chelsea")
    images = [resize(photographs[name], shape, anti_aliasing=True) for name in names]
    x = np.stack([np.stack(images[:3]), np.stack([images[3], images[0], images[1]])])
    x[1, 2] = np.random.default_rng(0).standard_normal(shape)
    return torch.tensor(x, dtype=dtype)


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize(
    "J, shape, L, max_order",
    [(2, (32, 32), 8, 2), (2, (50, 37), 6, 2), (3, (8, 8), 4, 2), (4, (64, 48), 8, 2), (3, (64, 64), 8, 1)],
)
def test_scattering_gpu_path_matches_kymatio_and_the_cpu_path(photographs, J, shape, L, max_order):
    x = _images(photographs, shape)
    reference = ScatteringTorch2D(J, shape, L=L, max_order=max_order)(x)
    gpu = Scattering2D(J, shape, L=L, max_order=max_order, path="gpu")(x)
    cpu = Scattering2D(J, shape, L=L, max_order=max_order, path="cpu")(x)
    assert gpu.shape == reference.shape
    assert _relative(gpu, reference) <= 1e-6
    assert _relative(gpu, cpu) <= 1e-6


def test_scattering_paths_agree_in_float64_and_with_phases(photographs):
    x = _images(photographs, (48, 40), torch.float64)
    for phases in (None, 4):
        gpu = Scattering2D(3, (48, 40), L=4, phases=phases, path="gpu")(x)
        cpu = Scattering2D(3, (48, 40), L=4, phases=phases, path="cpu")(x)
        assert gpu.dtype == torch.float64 and _relative(gpu, cpu) <= 1e-13


def test_scattering_gradients_agree_between_paths():
    """The gradient of a random linear functional of S_J x with respect to x (float64) is the same on both paths,
    and the GPU path passes torch's finite-difference check (phase scattering, order 2)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, 24, 24, generator=generator, dtype=torch.float64)
    gradients = []
    for path in ("cpu", "gpu"):
        S = Scattering2D(2, (24, 24), L=4, phases=4, path=path)
        weights = torch.randn(2, *S.output_shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        xi = x.clone().requires_grad_(True)
        (S(xi) * weights).sum().backward()
        gradients.append(xi.grad)
    assert _relative(gradients[1], gradients[0]) <= 1e-12
    small = Scattering2D(2, (8, 8), L=2, path="gpu")
    assert torch.autograd.gradcheck(small, (torch.rand(1, 8, 8, dtype=torch.float64, requires_grad=True),))


def test_scattering_path_choice():
    S = Scattering2D(2, (16, 16))
    assert S.resolved_path(torch.zeros(1, 16, 16)) == "cpu"
    assert S.resolved_path(torch.zeros(1, 16, 16, device="meta")) == "gpu"
    assert Scattering2D(2, (16, 16), path="gpu").resolved_path(torch.zeros(1, 16, 16)) == "gpu"
    with pytest.raises(ValueError, match="path"):
        Scattering2D(2, (16, 16), path="cuda")
    with pytest.raises(ValueError, match="tolerance"):
        Scattering2D(2, (16, 16), tolerance=1.5)


def test_scattering_cropped_support_option_trades_little_accuracy(photographs):
    """tolerance drops the alias blocks where every filter is below that fraction of its peak: fewer blocks, an
    error that grows with the tolerance and stays far below it (measured: 1e-3 → same as exact; 1e-2 → ~2e-5)."""
    x = _images(photographs, (64, 64))
    exact = Scattering2D(4, (64, 64), path="gpu", tolerance=0.0)(x)
    errors = [_relative(Scattering2D(4, (64, 64), path="gpu", tolerance=t)(x), exact) for t in (1e-8, 1e-3, 1e-2)]
    assert errors[0] <= 1e-6 and errors[1] <= 1e-5 and errors[2] <= 1e-3
    blocks = [sum(v.shape[1] for k, v in Scattering2D(4, (64, 64), path="gpu", tolerance=t)._gpu_plan(
        torch.device("cpu"), torch.float32).items() if k.startswith("weights")) for t in (0.0, 1e-2)]
    assert blocks[1] < blocks[0]


@pytest.mark.parametrize("path", ["cpu", "gpu"])
def test_scattering_accepts_any_memory_format(path):
    """channels_last inputs, and a module whose 4-D buffers were converted by .to(memory_format=channels_last)."""
    x = torch.randn(2, 3, 32, 32)
    S = Scattering2D(2, (32, 32), L=4, phases=4, path=path)
    reference = S(x)
    S = S.to(memory_format=torch.channels_last)
    out = S(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(out, reference, atol=1e-6)
    assert torch.allclose(S(x[:, :, :, :].transpose(-1, -2).contiguous().transpose(-1, -2)), reference, atol=1e-6)


CASES = [((32, 32), 3, 8, 4), ((64, 96), 2, 8, 6), ((64, 64), 4, 8, 4), ((48, 32), 3, 6, 8)]


@pytest.mark.parametrize("shape, J, L, A", CASES)
def test_rectified_gpu_path_matches_the_cpu_path_and_inverts_exactly(photographs, shape, J, L, A):
    for dtype, exact in ((torch.float32, 1e-5), (torch.float64, 1e-10)):
        x = _images(photographs, shape, dtype) * 2 - 1
        gpu, cpu = RectifiedWavelet2D(shape, J, L, A, path="gpu"), RectifiedWavelet2D(shape, J, L, A, path="cpu")
        coeffs, reference = gpu(x), cpu(x)
        for ours, theirs in zip((coeffs.lowpass, *coeffs.bands), (reference.lowpass, *reference.bands)):
            assert ours.shape == theirs.shape and _relative(ours, theirs) <= (1e-6 if dtype == torch.float32 else 1e-13)
        error = (gpu.inverse(coeffs) - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
        assert error.max() <= exact
        # the inverse is the same linear map on coefficients outside the range of U
        noisy = type(reference)(reference.lowpass + 0.1, tuple(b + 0.01 * torch.rand_like(b) for b in reference.bands))
        assert _relative(gpu.inverse(noisy), cpu.inverse(noisy)) <= (1e-6 if dtype == torch.float32 else 1e-13)


def test_rectified_gradients_agree_between_paths():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 16, 16, generator=generator, dtype=torch.float64)
    gradients = []
    for path in ("cpu", "gpu"):
        U = RectifiedWavelet2D((16, 16), 2, 4, 4, path=path)
        xi = x.clone().requires_grad_(True)
        coeffs = U(xi)
        weights = torch.randn(1, 2, 16, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        (U.inverse(type(coeffs)(coeffs.lowpass, tuple(b * 1.5 for b in coeffs.bands))) * weights).sum().backward()
        gradients.append(xi.grad)
    assert _relative(gradients[1], gradients[0]) <= 1e-12


def test_rectified_accepts_any_memory_format():
    x = torch.randn(2, 3, 32, 32)
    for path in ("cpu", "gpu"):
        U = RectifiedWavelet2D((32, 32), 2, path=path)
        reference = U(x)
        U = U.to(memory_format=torch.channels_last)
        coeffs = U(x.contiguous(memory_format=torch.channels_last))
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip((coeffs.lowpass, *coeffs.bands), (reference.lowpass, *reference.bands)))
        assert torch.allclose(U.inverse(coeffs), x, atol=1e-5)
