"""Scattering spectra (Cheng, Morel, Allys, Ménard & Mallat 2024): against a brute-force loop on a small image, the
rotation reduction's invariance, and a synthesis that brings the statistics of a disk field close (issue 33)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gennet.stationary import ScatteringSpectra2D
from gennet.transforms.filters import morlet_filter_bank


def _circulant_filters(H: int, W: int, J: int, L: int) -> np.ndarray:
    """Each wavelet as a ``(d, d)`` matrix of circular convolution built from its spatial samples: ``(J, L, d, d)``."""
    psi = np.fft.ifft2(morlet_filter_bank(H, W, J, L).psi.numpy())  # (J, L, H, W) spatial, complex
    rows, cols = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    u = np.stack([rows.ravel(), cols.ravel()], axis=1)  # (d, 2)
    offset = (u[:, None, :] - u[None, :, :]) % np.array([H, W])  # (u − v) mod the grid
    return psi[:, :, offset[..., 0], offset[..., 1]]


def _brute_force(x: np.ndarray, J: int, L: int) -> dict[str, np.ndarray]:
    """S2, S̄1, S̄3, S̄4 by explicit spatial convolutions and averages (no FFT): the definitions, term by term."""
    H, W = x.shape
    conv = _circulant_filters(H, W, J, L)
    z = conv @ x.ravel()  # (J, L, d)
    modulus = np.abs(z)
    S2 = (np.abs(z) ** 2).mean(-1)
    S1 = modulus.mean(-1) / np.sqrt(S2)
    S3 = np.full((J, L, J, L), np.nan, dtype=complex)
    S4 = np.full((J, L, J, L, J, L), np.nan, dtype=complex)
    for j1 in range(J):
        for l1 in range(L):
            for j2 in range(j1, J):
                for l2 in range(L):
                    filtered = conv[j2, l2] @ modulus[j1, l1]
                    S3[j1, l1, j2, l2] = (z[j2, l2] * filtered.conj()).mean() / np.sqrt(S2[j1, l1] * S2[j2, l2])
                    for j3 in range(j2, J):
                        for l3 in range(L):
                            a, b = conv[j3, l3] @ modulus[j1, l1], conv[j3, l3] @ modulus[j2, l2]
                            S4[j1, l1, j2, l2, j3, l3] = (a * b.conj()).mean() / np.sqrt(S2[j1, l1] * S2[j2, l2])
    return {"S2": S2, "S1": S1, "S3": S3, "S4": S4}


@pytest.fixture(scope="module")
def small():
    """A 16² binary disk field (non-Gaussian: the cross-scale terms are far from 0), J = 2, L = 4, and the brute force."""
    from gennet.stationary.fields import boolean_disks

    x = boolean_disks((16, 16), coverage=0.3, radius_law="uniform", radius=(1.5, 4.0), seed=1)[0, 0]
    x = x + 0.1 * torch.randn(16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return x, _brute_force(x.numpy(), 2, 4)


def test_raw_coefficients_match_a_brute_force_loop(small):
    x, reference = small
    model = ScatteringSpectra2D((16, 16), J=2, L=4, reduction="none", tolerance=0.0)
    raw = model.raw(x[None, None])[0].numpy()
    checked = set()
    for value, r in zip(raw, model.catalogue.raw):
        (j1, j2, j3), (l1, l2, l3) = r.j, r.l
        if r.family == "mean":
            expected = complex(x.mean())
        elif r.family == "power":
            expected = reference["S2"][j1, l1]
        elif r.family == "sparsity":
            expected = reference["S1"][j1, l1]
        elif r.family == "phase_modulus":
            expected = reference["S3"][j1, l1, j2, l2]
        else:
            expected = reference["S4"][j1, l1, j2, l2, j3, l3]
        expected = expected.imag if r.part == "im" else expected.real
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-12), r
        checked.add(r.family)
    assert checked == {"mean", "power", "sparsity", "phase_modulus", "modulus"}
    assert np.abs(reference["S4"][~np.isnan(reference["S4"])]).max() > 0.05  # the test is not on vanishing numbers


def test_rotation_reduction_is_the_average_of_real_parts_over_orientations(small):
    x, reference = small
    L = 4
    model = ScatteringSpectra2D((16, 16), J=2, L=L, reduction="rotation", tolerance=0.0)
    values = dict(zip((f"{e.family} {e.label}" for e in model.table()), model(x[None, None])[0].tolist()))
    for j1 in range(2):
        assert values[f"power j={j1}"] == pytest.approx(reference["S2"][j1].mean(), rel=1e-9)
        for j2 in range(j1, 2):
            for d in range(L):
                expected = np.mean([reference["S3"][j1, s, j2, (s + d) % L].real for s in range(L)])
                assert values[f"phase_modulus j=({j1},{j2}) dl={d}"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    S4 = reference["S4"]
    for d2 in range(L):
        for d3 in range(L):
            key = f"modulus j=(0,1,1) dl=({d2},{d3})"
            expected = np.mean([S4[0, s, 1, (s + d2) % L, 1, (s + d3) % L].real for s in range(L)])
            assert values[key] == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("L", [4, 8])
def test_rotation_reduced_statistics_are_invariant_to_quarter_turns(L):
    """Rotating the image by π/2 permutes the orientations (by L/2 steps, conjugating some wavelets): the averages over
    the orientations of the real parts do not change (to the tolerance of the frequency cut, 1e-8)."""
    x = torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for reduction in ("rotation", "rotation_scale"):
        model = ScatteringSpectra2D((32, 32), J=3, L=L, reduction=reduction)
        value = model(x)
        for k in (1, 2, 3):
            assert torch.allclose(model(torch.rot90(x, k, (-2, -1))), value, atol=1e-8)
    full = ScatteringSpectra2D((32, 32), J=3, L=L, reduction="none")
    assert not torch.allclose(full(torch.rot90(x, 1, (-2, -1))), full(x), atol=1e-3)  # the raw ones are not invariant


def test_counts_normalization_and_bad_arguments():
    model = ScatteringSpectra2D((64, 64), J=3, L=4)
    assert model.M == sum(model.describe().values()) == len(model.table())
    x = torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    phi = model(x)
    assert phi.shape == (2, model.M) and phi.dtype == torch.float64
    # S̄1, S̄3, S̄4 are normalized by the image's own power: a contrast change leaves them, S2 scales by its square
    families = [e.family for e in model.table()]
    dimensionless = torch.tensor([f in ("sparsity", "phase_modulus", "modulus") for f in families])
    scaled = model(3 * x)
    assert torch.allclose(scaled[:, dimensionless], phi[:, dimensionless], atol=1e-10)
    power = torch.tensor([f == "power" for f in families])
    assert torch.allclose(scaled[:, power], 9 * phi[:, power])
    scale = model.scale(x[0])
    assert scale.shape == (model.M,) and bool((scale > 0).all())
    reduced = ScatteringSpectra2D((64, 64), J=3, L=4, reduction="rotation_scale", scale_harmonics=1)
    assert reduced.M < model.M < ScatteringSpectra2D((64, 64), J=3, L=4, reduction="none").M
    with pytest.raises(ValueError, match="reduction"):
        ScatteringSpectra2D((64, 64), J=3, reduction="scale")
    with pytest.raises(ValueError, match="2\\*\\*J"):
        ScatteringSpectra2D((16, 16), J=5)
    with pytest.raises(ValueError, match="expected images"):
        model(torch.zeros(1, 1, 32, 32))
