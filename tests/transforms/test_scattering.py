"""Scattering2D against kymatio 0.3.0 (layout and values), and the phase-scattering variant."""

import numpy as np
import pytest
import torch
from kymatio.scattering2d.frontend.torch_frontend import ScatteringTorch2D
from skimage.transform import resize

from gennet.transforms.scattering import Scattering2D

CASES = [
    (2, (32, 32), 8, 2),
    (3, (64, 48), 6, 2),
    (2, (40, 24), 4, 1),
    (3, (64, 64), 8, 1),
    (2, (50, 37), 8, 2),  # not divisible by 2^J
    (3, (8, 8), 4, 2),  # padding as large as the image
    (4, (96, 80), 8, 2),  # the paper's J=4, non-square
]


def _batch(photographs, shape):
    """(2, 3, M, N): real photographs in three channels + Gaussian noise, float32, contiguous."""
    images = [resize(photographs[name], shape, anti_aliasing=True) for name in ("camera", "astronaut", "coffee", "chelsea")]
    x = np.stack([np.stack(images[:3]), np.stack([images[3], images[0], images[1]])])
    x[1, 2] = np.random.default_rng(0).standard_normal(shape)
    return torch.tensor(x, dtype=torch.float32)


@pytest.mark.parametrize("J, shape, L, max_order", CASES)
def test_matches_kymatio(photographs, J, shape, L, max_order):
    x = _batch(photographs, shape)
    reference = ScatteringTorch2D(J, shape, L=L, max_order=max_order)(x)
    scattering = Scattering2D(J, shape, L=L, max_order=max_order)
    ours = scattering(x)
    assert ours.shape == reference.shape == (2, 3, *scattering.output_shape)
    assert ((ours - reference).norm() / reference.norm()).item() <= 1e-4


def test_leading_batch_dimensions_and_float64(photographs):
    x = _batch(photographs, (32, 32))
    scattering = Scattering2D(2, (32, 32))
    flat = scattering(x.reshape(6, 32, 32))
    assert torch.equal(scattering(x).reshape(6, -1, 8, 8), flat)
    assert scattering(x[0, 0]).shape == (81, 8, 8)
    double = scattering(x.double())
    assert double.dtype == torch.float64 and torch.allclose(double.float(), scattering(x), rtol=1e-4, atol=1e-6)


def test_phase_scattering_layout():
    """phases=A: 1 + A·J·L + L²·J(J−1)/2 channels per input channel (1539 for RGB, J=4, L=8, A=4);
    the low-pass and second-order channels are those of the modulus transform."""
    x = torch.randn(1, 3, 64, 64)
    phase = Scattering2D(4, (64, 64), L=8, phases=4)
    modulus = Scattering2D(4, (64, 64), L=8)
    out, ref = phase(x), modulus(x)
    assert out.shape == (1, 3, 513, 4, 4) and out.flatten(1, 2).shape[1] == 1539
    assert torch.allclose(out[:, :, 0], ref[:, :, 0])
    assert torch.allclose(out[:, :, 1 + 4 * 32 :], ref[:, :, 1 + 32 :])
    assert out[:, :, 1:].min() >= -1e-3 * out[:, :, 1:].max()  # averages of non-negative maps (φ ≥ 0 up to its periodization)


def test_phase_scattering_recovers_linear_first_order():
    """(4/A) Σ_a e^{iα_a} ρ(Re(e^{-iα_a} c)) = c, and φ_J is linear: recombining the A phase channels of
    order 1 gives the low-pass of the complex wavelet coefficients, whose modulus bounds |c| ⋆ φ_J."""
    A, J, L = 4, 2, 8
    x = torch.randn(2, 32, 32, dtype=torch.float64)
    phase = Scattering2D(J, (32, 32), L=L, max_order=1, phases=A)(x)[:, 1:].reshape(2, J, L, A, 8, 8)
    modulus = Scattering2D(J, (32, 32), L=L, max_order=1)(x)[:, 1:].reshape(2, J, L, 8, 8)
    alpha = 2 * np.pi * torch.arange(A, dtype=torch.float64) / A
    recombined = (4 / A) * (phase * torch.exp(1j * alpha)[:, None, None]).sum(3)
    assert bool((recombined.abs() <= modulus + 1e-9).all())  # |c ⋆ φ| ≤ |c| ⋆ φ (φ ≥ 0 up to rounding)
    assert recombined.abs().mean() > 0.05 * modulus.mean()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(J=6, shape=(32, 32)), "does not fit"),
        (dict(J=2, shape=(32, 32), max_order=3), "max_order"),
        (dict(J=2, shape=(32, 32), phases=3), "phases"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Scattering2D(**kwargs)


def test_bad_input_shape():
    with pytest.raises(ValueError, match="expected input"):
        Scattering2D(2, (32, 32))(torch.randn(1, 32, 31))


def test_batch_chunks_do_not_change_the_result(monkeypatch):
    import gennet.transforms.scattering as scattering_module

    x = torch.randn(5, 2, 32, 32)
    scattering = Scattering2D(3, (32, 32), L=4, phases=4)
    whole = scattering(x)
    monkeypatch.setattr(scattering_module, "_CHUNK_PIXELS", 1)  # one image per chunk
    assert torch.allclose(scattering(x), whole, atol=1e-6)


def test_gradient_is_finite_where_wavelet_coefficients_vanish():
    """A constant background makes x ⋆ ψ exactly 0 there; |·| must then pass a 0 gradient, not 0/0 = nan
    (the analyses of gennet.analysis differentiate networks with respect to their input images)."""
    S = Scattering2D(2, (16, 16), L=4).double()
    x = torch.full((1, 16, 16), -1.0, dtype=torch.float64)
    x[0, 5:11, 6:9] = 1.0
    x.requires_grad_(True)
    S(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    small = Scattering2D(1, (8, 8), L=2).double()
    assert torch.autograd.gradcheck(small, (torch.randn(1, 8, 8, dtype=torch.float64, requires_grad=True),))
