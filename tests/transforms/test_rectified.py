"""The rectified wavelet transform U: exact inverse, phase harmonics, least-squares dual (DESIGN §2)."""

import math

import numpy as np
import pytest
import torch
from kymatio.scattering2d.filter_bank import filter_bank as kymatio_filter_bank
from skimage.transform import resize

from gennet.transforms import RectifiedWavelet2D


def _images(photographs, shape, channels, dtype, seed=0):
    """A batch: real photographs (resized) in [-1, 1] in every channel of image 0..2, then Gaussian noise."""
    names = list(photographs)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(len(names) + 1, channels, *shape, generator=gen, dtype=torch.float64)
    for i, name in enumerate(names):
        x[i] = torch.from_numpy(resize(photographs[name], shape, anti_aliasing=True) * 2 - 1)
    return x.to(dtype)


CASES = [((32, 32), 3, 8, 4), ((64, 96), 2, 8, 6), ((64, 64), 4, 8, 4), ((48, 32), 3, 6, 8), ((96, 64), 3, 4, 4)]


@pytest.mark.parametrize("shape, J, L, A", CASES)
def test_exact_inverse_float64(photographs, shape, J, L, A):
    U = RectifiedWavelet2D(shape, J, L, A)
    x = _images(photographs, shape, 2, torch.float64)
    error = (U.inverse(U(x)) - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
    assert error.max() <= 1e-10


@pytest.mark.parametrize("shape, J, L, A", CASES)
def test_exact_inverse_float32(photographs, shape, J, L, A):
    U = RectifiedWavelet2D(shape, J, L, A)
    x = _images(photographs, shape, 3, torch.float32)
    y = U.inverse(U(x))
    assert y.dtype == torch.float32
    error = (y - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
    assert error.max() <= 1e-5


def test_dual_blocks_exact_with_several_threads():
    """The 256×256 frame-operator blocks of J = 4 are inverted correctly when torch uses several threads
    (a batched LU there races inside MKL: wrong inverses, pytorch/pytorch#181570 — seen on CI)."""
    from gennet.transforms.frame import dual_operator

    threads = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        dual_operator.cache_clear()
        U = RectifiedWavelet2D((64, 64), 4, 8, 4)
        x = torch.randn(2, 1, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        error = (U.inverse(U(x)) - x).norm() / x.norm()
    finally:
        torch.set_num_threads(threads)
        dual_operator.cache_clear()
    assert error <= 1e-10


def test_output_layout():
    U = RectifiedWavelet2D((32, 64), J=3, L=6, A=4)
    coeffs = U(torch.randn(2, 3, 32, 64))
    assert coeffs.lowpass.shape == (2, 3, 4, 8)
    assert [tuple(b.shape) for b in coeffs.bands] == [(2, 3, 6, 4, 32 // 2**j, 64 // 2**j) for j in range(3)]
    assert all(bool((b >= 0).all()) for b in coeffs.bands)  # ρ output


def test_complex_coefficients_match_kymatio_filters():
    """x ⋆ ψ_{j,θ} subsampled by 2^j, against a plain numpy computation with kymatio's filters."""
    M, N, J, L = 32, 48, 3, 8
    x = np.random.default_rng(0).standard_normal((M, N))
    U = RectifiedWavelet2D((M, N), J, L, A=4).double()
    _, bands = U.complex_coefficients(torch.from_numpy(x)[None, None])
    filters = kymatio_filter_bank(M, N, J, L)
    for psi in filters["psi"]:
        j, theta = psi["j"], psi["theta"]
        full = np.fft.ifft2(np.fft.fft2(x) * psi["levels"][0])[:: 2**j, :: 2**j]
        ours = bands[j][0, 0, theta].numpy()
        assert np.abs(ours - full).max() <= 1e-6 * np.abs(full).max()


def _gamma_hat(m: int) -> float:
    """Fourier coefficients of γ(α) = ρ(cos α): 1/π, 1/4, 1/(3π), 0 for odd |m| ≥ 3 (closed form)."""
    if abs(m) == 1:
        return 0.25
    if m % 2:
        return 0.0
    return -math.cos(m * math.pi / 2) / (math.pi * (m * m - 1))


def test_gamma_hat_closed_form_by_quadrature():
    alpha = np.linspace(0, 2 * np.pi, 200_001)[:-1]
    gamma = np.maximum(np.cos(alpha), 0)
    for m in range(-6, 7):
        numeric = np.mean(gamma * np.exp(-1j * m * alpha))
        assert abs(numeric - _gamma_hat(m)) < 1e-6


@pytest.mark.parametrize("A", [4, 8, 16])
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_phase_harmonic_identity(photographs, A, k):
    """Fourier transform of U x along the phase: (1/A) Σ_a U x(α_a) e^{ikα_a} = |c| Σ_{m ≡ k (A)} γ̂(m) e^{imφ(c)}.

    With A phases the harmonics m ≡ k mod A alias onto k (seed 001; DESIGN §2): k = ±1 is exactly
    γ̂(1)|c|e^{iφ} for even A ≥ 4, and k = 0, 2 tend to γ̂(0)|c| = |c|/π and γ̂(2)|c|e^{2iφ} as A grows.
    """
    U = RectifiedWavelet2D((64, 64), J=2, L=8, A=A).double()
    x = _images(photographs, (64, 64), 1, torch.float64)
    rectified = U(x).bands[1]  # (B, C, L, A, h, w)
    _, complex_bands = U.complex_coefficients(x)
    c = complex_bands[1]
    alpha = 2 * math.pi * torch.arange(A, dtype=torch.float64) / A
    harmonic = (rectified * torch.exp(1j * k * alpha)[:, None, None]).mean(dim=3)
    modulus, phase = c.abs(), c.angle()
    expected = sum(
        _gamma_hat(m) * modulus * torch.exp(1j * m * phase) for m in range(-40 * A + k, 40 * A + k + 1, A)
    )
    error = (harmonic - expected).abs().max() / modulus.max()
    assert error < 2e-3  # truncation of the harmonic series (|γ̂(m)| ~ 1/(π m²))
    if k == 1:
        assert (harmonic - 0.25 * c).abs().max() / modulus.max() < 1e-12


def test_inverse_is_least_squares_dual():
    """On coefficients outside the range of U, U⁻¹ returns the least-squares solution of T x = c(u):
    the normal equations T*(T x − c) = 0 hold (checked with autograd, independently of the block solve)."""
    U = RectifiedWavelet2D((32, 32), J=3, L=8, A=4).double()
    gen = torch.Generator().manual_seed(1)
    coeffs = U(torch.randn(1, 1, 32, 32, generator=gen, dtype=torch.float64))
    noisy = type(coeffs)(coeffs.lowpass + torch.randn(coeffs.lowpass.shape, generator=gen, dtype=torch.float64),
                         tuple(b + torch.rand(b.shape, generator=gen, dtype=torch.float64) for b in coeffs.bands))
    x = U.inverse(noisy).requires_grad_(True)
    low, bands = U.complex_coefficients(x)
    target = [U.recover_complex(b) for b in noisy.bands]
    residual = (low - noisy.lowpass).pow(2).sum() + sum((c - t).abs().pow(2).sum() for c, t in zip(bands, target))
    (grad,) = torch.autograd.grad(residual, x)
    assert grad.abs().max() < 1e-9 * residual.item()
    # and the solution is better than a perturbation of it
    assert residual.item() < float(
        sum((c - t).abs().pow(2).sum() for c, t in zip(U.complex_coefficients(x.detach() + 1e-3)[1], target))
        + (U.complex_coefficients(x.detach() + 1e-3)[0] - noisy.lowpass).pow(2).sum()
    )


def test_upsampled_lowpass_of_smooth_image():
    """A low-frequency image passes φ_J almost unchanged (×φ̂(ω)) and is recovered by the interpolation."""
    H = W = 64
    u = torch.arange(H, dtype=torch.float64)
    x = torch.cos(2 * math.pi * u / H)[:, None] * torch.ones(W, dtype=torch.float64)[None, :]
    U = RectifiedWavelet2D((H, W), J=3).double()
    up = U.upsample_lowpass(U(x[None, None]).lowpass)[0, 0]
    gain = U.phi_hat[1, 0].item()
    assert torch.allclose(up, gain * x, atol=1e-10)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(shape=(32, 32), J=6), "too large"),
        (dict(shape=(32, 16), J=5), "too large"),
        (dict(shape=(36, 32), J=3), "divisible"),
        (dict(shape=(32, 32), J=2, A=3), "A must be even"),
        (dict(shape=(32, 32), J=2, A=2), "A must be even"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RectifiedWavelet2D(**kwargs)


def test_bad_input_shapes():
    U = RectifiedWavelet2D((32, 32), J=2)
    with pytest.raises(ValueError, match="expected images of shape"):
        U(torch.randn(1, 1, 32, 40))
    coeffs = U(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="bands"):
        U.inverse((coeffs.lowpass, coeffs.bands[:1]))


@pytest.mark.parametrize("A", [4, 8])
def test_the_two_forms_of_the_phase_rectifier_agree(A):
    """ρ(Re(e^{-iα_a} c)) (rectify_phase_factors, the GPU paths) equals ρ(cos α_a Re c + sin α_a Im c) (rectify_phases)."""
    from gennet.transforms.rectifier import phase_angles, rectify_phase_factors, rectify_phases

    g = torch.Generator().manual_seed(0)
    c = torch.complex(torch.randn(2, 3, 5, 6, dtype=torch.float64, generator=g), torch.randn(2, 3, 5, 6, dtype=torch.float64, generator=g))
    cos, sin = phase_angles(A)
    factors = torch.complex(cos, -sin).view(-1, 1, 1)
    expected = rectify_phases(c, cos, sin)
    assert expected.shape == (2, 3, A, 5, 6) and bool((expected > 0).any()) and bool((expected == 0).any())
    torch.testing.assert_close(rectify_phase_factors(c, factors), expected, rtol=0, atol=1e-14)
