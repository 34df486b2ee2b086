"""Real solid harmonics: the addition theorem (two points), harmonicity, and the span of scipy's complex
spherical harmonics."""

import math

import numpy as np
import pytest
import scipy.special
import torch

from gennet.molecules.solid_harmonics import real_solid_harmonics


@pytest.mark.parametrize("L", [0, 1, 2, 3, 5])
def test_addition_theorem(L):
    """Σ_m R_lm(u) R_lm(v) = (2l+1)/(4π) |u|^l |v|^l P_l(cos γ) for random pairs u, v."""
    g = torch.Generator().manual_seed(L)
    u, v = torch.randn(3, 64, generator=g, dtype=torch.float64), torch.randn(3, 64, generator=g, dtype=torch.float64)
    Ru, Rv = real_solid_harmonics(*u, L), real_solid_harmonics(*v, L)
    nu, nv = u.norm(dim=0), v.norm(dim=0)
    cos = (u * v).sum(0) / (nu * nv)
    for l in range(L + 1):
        expected = (2 * l + 1) / (4 * math.pi) * nu**l * nv**l * torch.from_numpy(scipy.special.eval_legendre(l, cos.numpy()))
        torch.testing.assert_close((Ru[l] * Rv[l]).sum(0), expected, rtol=1e-10, atol=1e-12)


def test_harmonic_and_homogeneous():
    """ΔR_lm = 0 (finite differences) and R_lm(t u) = t^l R_lm(u)."""
    L, h = 4, 1e-3
    u = torch.randn(3, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    laplacian = [-6 * R for R in real_solid_harmonics(*u, L)]
    for axis in range(3):
        for sign in (1, -1):
            shifted = u.clone()
            shifted[axis] += sign * h
            for l, R in enumerate(real_solid_harmonics(*shifted, L)):
                laplacian[l] = laplacian[l] + R
    for l in range(L + 1):
        assert laplacian[l].abs().max() / h**2 < 1e-4 * max(1.0, float(u.norm(dim=0).max()) ** l)
    for l, (a, b) in enumerate(zip(real_solid_harmonics(*(2.5 * u), L), real_solid_harmonics(*u, L))):
        torch.testing.assert_close(a, 2.5**l * b)


@pytest.mark.parametrize("l", [1, 2, 3])
def test_same_span_as_complex_harmonics(l):
    """The real R_l,· and scipy's r^l Y_l^m span the same space: a unitary (2l+1)×(2l+1) map takes one to the other."""
    rng = np.random.default_rng(l)
    u = rng.normal(size=(3, 200))
    r = np.linalg.norm(u, axis=0)
    polar, azimuth = np.arccos(u[2] / r), np.arctan2(u[1], u[0])
    complex_basis = np.stack([r**l * scipy.special.sph_harm_y(l, m, polar, azimuth) for m in range(-l, l + 1)])
    real_basis = real_solid_harmonics(*torch.from_numpy(u), l)[l].numpy()
    coefficients, *_ = np.linalg.lstsq(complex_basis.T, real_basis.T.astype(complex), rcond=None)
    np.testing.assert_allclose(complex_basis.T @ coefficients, real_basis.T, atol=1e-10)
    np.testing.assert_allclose(coefficients.conj().T @ coefficients, np.eye(2 * l + 1), atol=1e-10)
