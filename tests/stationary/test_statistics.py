"""Phase-harmonic covariances Φ (DESIGN §10) against a direct, loop-based reference, and their invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gennet.stationary import FAMILIES, PhaseHarmonicCovariance2D
from gennet.transforms.filters import morlet_filter_bank


def _texture(shape: tuple[int, int], channels: int, seed: int = 0) -> torch.Tensor:
    """Real texture crops from scikit-image (brick, gravel), float64 in [0, 1], ``(1, channels, H, W)``."""
    from skimage import data

    crops = [data.brick(), data.gravel(), data.grass()]
    rng = np.random.default_rng(seed)
    out = []
    for c in range(channels):
        image = crops[c % 3].astype(np.float64) / 255
        r, s = rng.integers(0, 512 - shape[0]), rng.integers(0, 512 - shape[1])
        out.append(image[r : r + shape[0], s : s + shape[1]])
    return torch.from_numpy(np.stack(out))[None]


def _reference(op: PhaseHarmonicCovariance2D, x: np.ndarray) -> np.ndarray:
    """Φ(x) from the definitions, with explicit sums: circular convolutions in space, covariances over the grid
    (same grid) or over the coarser grid's band with explicit DFT sums (different grids). ``x (C, H, W)``.

    Channels ``(c, j, θ, k)``: the harmonics g_k = Σ_a e^{-2πiak/A} ρ_a of band j (k = 1: conj(z)); for the
    low-pass band j = J, k = 0 is |ℓ − mean(ℓ)| and k = 1 is ℓ = x ⋆ φ_J; for the pixels j = −1, |x − mean(x)| and x."""
    C, H, W = x.shape
    J, L, A = op.J, op.L, op.A
    bank = morlet_filter_bank(H, W, J, L)
    psi = np.fft.ifft2(bank.psi.numpy())  # spatial Morlet wavelets (J, L, H, W)
    phi = np.fft.ifft2(bank.phi.numpy()).real
    alpha = 2 * np.pi * np.arange(A) / A

    def convolve(image: np.ndarray, kernel: np.ndarray, step: int) -> np.ndarray:
        """(image ⋆ kernel)(step·u) = Σ_v image(v) kernel(step·u − v), periodic."""
        out = np.zeros((H // step, W // step), dtype=complex)
        for r in range(H // step):
            for s in range(W // step):
                rows = (step * r - np.arange(H)) % H
                cols = (step * s - np.arange(W)) % W
                out[r, s] = (image * kernel[np.ix_(rows, cols)]).sum()
        return out

    channel: dict[tuple[int, int, int, int], np.ndarray] = {}
    rectified: dict[tuple[int, int, int, int], np.ndarray] = {}
    for c in range(C):
        channel[(c, -1, -1, 1)] = x[c]
        channel[(c, -1, -1, 0)] = rectified[(c, -1, -1, 0)] = np.abs(x[c] - x[c].mean())
        for j in range(J):
            for t in range(L):
                z = convolve(x[c], psi[j, t], op.step[j])
                rho = [np.maximum((np.exp(-1j * a) * z).real, 0) for a in alpha]
                for a in range(A):
                    rectified[(c, j, t, a)] = rho[a]
                for k in op.harmonics:
                    g = np.conj(z) if k == 1 else sum(np.exp(-2j * np.pi * a * k / A) * rho[a] for a in range(A))
                    channel[(c, j, t, k)] = g
        lowpass = convolve(x[c], phi, op.step[J]).real
        channel[(c, J, -1, 1)] = lowpass
        channel[(c, J, -1, 0)] = rectified[(c, J, -1, 0)] = np.abs(lowpass - lowpass.mean())

    def grid_covariance(f: np.ndarray, g: np.ndarray, shift: tuple[int, int], step: int) -> complex:
        f, g = f - f.mean(), g - g.mean()
        h, w = f.shape
        dr, dc = shift[0] // step, shift[1] // step
        total = 0j
        for r in range(h):
            for s in range(w):
                total += f[(r + dr) % h, (s + dc) % w] * np.conj(g[r, s])
        return total / (h * w)

    def dft(array: np.ndarray, step: int, mr: int, mc: int) -> complex:
        """(1/n) Σ_u array(u) e^{-iω·(step·u)} at ω = 2π(mr/H, mc/W) (full-image frequencies)."""
        rows = np.arange(array.shape[0]) * step
        cols = np.arange(array.shape[1]) * step
        return (array * np.exp(-2j * np.pi * (mr * rows[:, None] / H + mc * cols[None, :] / W))).sum() / array.size

    def band_covariance(f: np.ndarray, step_f: int, g: np.ndarray, step_g: int) -> complex:
        """Σ over the frequencies of g's (coarser) grid, Nyquist row/column and 0 excluded, of f̂ conj ĝ."""
        h, w = g.shape
        total = 0j
        for mr in range(-(h // 2 - 1), h // 2):
            for mc in range(-(w // 2 - 1), w // 2):
                if mr or mc:
                    total += dft(f, step_f, mr, mc) * np.conj(dft(g, step_g, mr, mc))
        return total

    values = []
    for st in op.table():
        first, second = (st.c, st.j, st.theta, st.k), (st.c2, st.j2, st.theta2, st.k2)
        if st.family == "mean":
            value = x[st.c].mean()
        elif st.family == "rectified_mean":
            value = rectified[first].mean()
        elif op.step[st.j] == op.step[st.j2]:
            value = grid_covariance(channel[first], channel[second], st.shift, op.step[st.j])
        else:
            value = band_covariance(channel[first], op.step[st.j], channel[second], op.step[st.j2])
        value = complex(value)
        values.append(value.imag if st.part == "im" else value.real)
    return np.array(values)


@pytest.mark.parametrize(
    "shape, channels, kwargs",
    [
        ((16, 24), 2, dict(J=3, L=2, A=6, delta_j=2, shifts=((0, 1), (1, -1)))),
        ((16, 16), 1, dict(J=3, L=3, A=8, delta_j=1, delta_theta=0, shifts=((1, 0),), oversampling=0, pixels=False)),
        ((32, 16), 2, dict(J=4, L=2, A=8, delta_j=3, shifts=((0, 1), (1, 1)), oversampling=1)),  # 3 grids, colours, g_{A/2}
    ],
)
def test_statistics_match_a_direct_loop_reference(shape, channels, kwargs):
    op = PhaseHarmonicCovariance2D(shape, channels=channels, **kwargs)
    x = _texture(shape, channels)
    ours = op(x)[0].numpy()
    reference = _reference(op, x[0].numpy())
    assert ours.shape == (op.M,) == reference.shape
    assert list(op.describe()) == [family for family in FAMILIES if op.pixels or family != "pixel"]
    scale = op.scale(x).numpy()
    np.testing.assert_allclose(ours / scale, reference / scale, rtol=0, atol=1e-9)


def test_the_custom_backwards_are_the_adjoints():
    """The evaluation's two hand-written backwards (Gram matrix, weighted one-sided FFT) against finite differences."""
    from gennet.stationary.covariances import _Gram, _WeightedRFFT2, half_plane_weights

    generator = torch.Generator().manual_seed(0)
    F = torch.randn(1, 2, 3, 5, dtype=torch.float64, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(_Gram.apply, (F,))
    for h, w in ((4, 6), (4, 3)):
        root = half_plane_weights(h, w).sqrt()
        adjoint = torch.full_like(root, 0.5)
        adjoint[:, 0] = 1.0
        if w % 2 == 0:
            adjoint[:, -1] = 1.0
        x = torch.randn(1, 1, h, w, dtype=torch.float64, generator=generator, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t: _WeightedRFFT2.apply(t, root, root * adjoint), (x,))


def test_the_typed_records_and_the_table_agree():
    op = PhaseHarmonicCovariance2D((32, 32), J=3, L=2, A=6, channels=2)
    records, table = op.records(), op.table()
    assert len(records) == len(table) == op.M
    for record, flat in zip(records, table):
        if flat.family in ("mean", "rectified_mean"):
            assert (flat.c, flat.c2) == (record.c, record.c)
        else:
            assert flat.family == record.family and flat.shift == record.shift and (flat.part == "im") == record.imaginary
            first, second = record.first, record.second
            assert (flat.c, flat.j, flat.k, flat.c2, flat.j2, flat.k2) == (first.c, first.j, first.k, second.c, second.j, second.k)
            assert (flat.theta, flat.theta2) == tuple(-1 if ch.theta is None else ch.theta for ch in (first, second))


def test_the_counts_and_the_table_agree():
    op = PhaseHarmonicCovariance2D((64, 64), J=4, L=4, A=6, delta_j=2)
    counts = op.describe()
    assert sum(counts.values()) == op.M == len(op.table())
    assert counts["rectified_mean"] == 4 * 4 * 6 + 2  # + the mean moduli of the low-pass and of the pixels
    assert counts["mean"] == 1
    # every shifted statistic: one harmonic (0, 1, 2) of one (j, θ) with itself, real (k = 0) or re + im (k = 1, 2)
    assert counts["shifted"] == 4 * 4 * len(op.shifts) * (1 + 2 + 2)
    rgb = PhaseHarmonicCovariance2D((64, 64), J=4, L=4, A=6, delta_j=2, channels=3)
    assert rgb.describe()["cross_scale"] == 3 * counts["cross_scale"]  # cross-scale within a colour only
    assert rgb.describe()["same_scale"] > 3 * counts["same_scale"]  # plus covariances across colours


def test_translation_invariance():
    x = _texture((64, 48), 1, seed=1)
    exact = PhaseHarmonicCovariance2D((64, 48), J=4, L=4, oversampling=3)  # every band on the full grid
    scale = exact.scale(x)
    shifted = torch.roll(x, shifts=(5, -3), dims=(-2, -1))
    assert torch.allclose(exact(shifted) / scale, exact(x) / scale, atol=1e-9, rtol=0)

    op = PhaseHarmonicCovariance2D((64, 48), J=4, L=4)  # coarsest grid step 4: exact for multiples of 4
    scale = op.scale(x)
    by_step = torch.roll(x, shifts=(8, -4), dims=(-2, -1))
    assert torch.allclose(op(by_step) / scale, op(x) / scale, atol=1e-9, rtol=0)
    # one pixel: the rectifier's harmonics alias a little on the subsampled grids
    by_one = torch.roll(x, shifts=(1, 1), dims=(-2, -1))
    change = ((op(by_one) - op(x)) / scale).abs()
    noise = ((op(_texture((64, 48), 1, seed=2)) - op(x)) / scale).abs()  # another crop of the same texture
    assert change.max() < 0.3 and change.mean() < 0.05 * noise.mean()


def test_gradients_float32_and_shape_errors():
    op = PhaseHarmonicCovariance2D((32, 32), J=3, L=4)
    x = _texture((32, 32), 1).float().requires_grad_(True)
    out = op(x)
    assert out.dtype == torch.float32 and out.shape == (1, op.M)
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    np.testing.assert_allclose(out.detach().double().numpy(), op(x.detach().double()).numpy(), rtol=1e-3, atol=1e-6)
    with pytest.raises(ValueError, match="expected images of shape"):
        op(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="A=5"):
        PhaseHarmonicCovariance2D((32, 32), J=3, A=5)
    with pytest.raises(ValueError, match="J=6"):
        PhaseHarmonicCovariance2D((32, 32), J=6)
    with pytest.raises(ValueError, match="shifts"):
        PhaseHarmonicCovariance2D((32, 32), J=3, shifts=((0, 0),))
    assert math.isclose(float(op.scale(x.detach())[0]), float(x.detach().std()), rel_tol=1e-6)
