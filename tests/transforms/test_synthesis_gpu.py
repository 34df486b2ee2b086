"""The GPU path of U⁻¹ as one autograd function (gennet.transforms.synthesis_gpu): its hand-written backward against
autograd through the CPU path (the plain synthesis formula, same filters), and against finite differences."""

import pytest
import torch

from gennet.transforms.embedding import RectifiedWavelet2D


def _coefficients(U, B=2, C=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    low = torch.randn(B, C, *U.coarse_shape, dtype=torch.float64, generator=g)
    bands = [torch.randn(B, C, U.L, U.A, *U.band_shape(j), dtype=torch.float64, generator=g) for j in range(U.J)]
    return low, bands


@pytest.mark.parametrize("shape,J,L", [((16, 16), 2, 4), ((32, 16), 3, 3)])
def test_backward_is_the_adjoint_of_the_synthesis(shape, J, L):
    U = RectifiedWavelet2D(shape, J, L, 4, path="gpu").double()
    U_plain = RectifiedWavelet2D(shape, J, L, 4, path="cpu").double()
    low, bands = _coefficients(U)
    mine = [t.clone().requires_grad_(True) for t in (low, *bands)]
    plain = [t.clone().requires_grad_(True) for t in (low, *bands)]
    x = U.inverse((mine[0], tuple(mine[1:])))
    x_plain = U_plain.inverse((plain[0], tuple(plain[1:])))
    torch.testing.assert_close(x, x_plain, rtol=1e-13, atol=1e-13)  # (the lean forward: same values up to rounding)
    gx = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(1))
    (x * gx).sum().backward()
    (x_plain * gx).sum().backward()
    for a, b in zip(mine, plain):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-12)


def test_gradcheck_bands_only():
    """Finite differences, with the low-pass channel constant (the generator's case: only the bands carry a gradient)."""
    U = RectifiedWavelet2D((8, 8), 2, 2, 4, path="gpu").double()
    low, bands = _coefficients(U, B=1, C=1, seed=2)
    inputs = tuple(b.requires_grad_(True) for b in bands)
    assert torch.autograd.gradcheck(lambda *b: U.inverse((low, b)), inputs)
