"""The convolutional dictionary D and the composed operator A = L∘D (DESIGN §4)."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso
from skimage.transform import resize

from gennet.sparse import homotopy_ista
from gennet.sparse.dictionary import ConvDictionary
from gennet.transforms import Embedding2D, RectifiedWavelet2D

CASES = [((32, 32), 1, 3, 2), ((32, 64), 3, 2, 3), ((64, 64), 3, 4, 1)]


@pytest.mark.parametrize("shape, C, J, p", CASES)
def test_composed_operator_is_L_of_D(shape, C, J, p):
    """A z computed on the coarse grid equals L(D z) computed through full-resolution U-space."""
    torch.manual_seed(0)
    phi = Embedding2D(shape, J).double()
    D = ConvDictionary(12, C, shape, J, atom_size=p).double()
    z = torch.randn(2, 12, shape[0] // 2**J, shape[1] // 2**J, dtype=torch.float64)
    op = D.operator(phi.lowpass)
    expected = phi.lowpass(D(z))
    assert (op.forward(z) - expected).norm() / expected.norm() < 1e-12


@pytest.mark.parametrize("shape, C, J, p", CASES)
def test_adjoint_and_exact_norm(shape, C, J, p):
    torch.manual_seed(1)
    phi = Embedding2D(shape, J).double()
    op = ConvDictionary(6, C, shape, J, atom_size=p).double().operator(phi.lowpass)
    z = torch.randn(3, *op.code_shape, dtype=torch.float64)
    r = torch.randn(3, *op.signal_shape, dtype=torch.float64)
    assert torch.allclose((op.forward(z) * r).sum(), (z * op.adjoint(r)).sum(), rtol=1e-12, atol=1e-12)
    # exact ‖A‖² against a long power iteration
    v = torch.randn(1, *op.code_shape, dtype=torch.float64)
    for _ in range(500):
        v = op.adjoint(op.forward(v))
        v = v / v.norm()
    assert abs(op.norm_squared().item() - op.forward(v).norm().item() ** 2) < 1e-9 * op.norm_squared().item()


def test_dictionary_is_translation_equivariant_and_unit_norm():
    J = 3
    D = ConvDictionary(5, 2, (32, 48), J, atom_size=2).double()
    assert torch.allclose(D.atom_norms(), torch.ones(5, dtype=torch.float64))
    z = torch.randn(1, 5, 4, 6, dtype=torch.float64)
    coarse_shift = (1, 2)
    out, shifted = D(z), D(torch.roll(z, coarse_shift, dims=(-2, -1)))
    for j, (band, band_shifted) in enumerate(zip(out.bands, shifted.bands)):
        s = 2 ** (J - j)
        assert torch.allclose(torch.roll(band, (s * coarse_shift[0], s * coarse_shift[1]), dims=(-2, -1)), band_shifted)
    with torch.no_grad():
        for piece in D.pieces():
            piece.mul_(3.0)
    D.normalize_()
    assert torch.allclose(D.atom_norms(), torch.ones(5, dtype=torch.float64))


def test_init_from_coefficients_copies_data_patches():
    """After the data initialization, D δ_k at some coarse position reproduces a patch of U x (up to scale) for every
    atom; with ``atoms=…`` only those atoms change; patches of flat background are not drawn."""
    H, J, p = 32, 3, 2
    U = RectifiedWavelet2D((H, H), J).double()
    D = ConvDictionary(4, 1, (H, H), J, atom_size=p).double()
    x = torch.zeros(3, 1, H, H, dtype=torch.float64)
    x[:, :, 8:20, 10:22] = torch.randn(3, 1, 12, 12, dtype=torch.float64)  # texture in a square, flat elsewhere
    coeffs = U(x)
    D.init_from_coefficients_(coeffs, torch.Generator().manual_seed(1))
    for k in range(4):
        matched = False
        for image in range(3):
            for row in range(4):
                for col in range(4):
                    z = torch.zeros(1, 4, 4, 4, dtype=torch.float64)
                    z[0, k, row, col] = 1
                    placed = D(z).bands[0][0].flatten(0, 2)
                    source = coeffs.bands[0][image].flatten(0, 2)
                    mask = placed.abs() > 0
                    if mask.sum() == 0:
                        continue
                    ratio = source[mask] / placed[mask]
                    matched |= bool(ratio.std() < 1e-12 * ratio.abs().mean())
        assert matched, f"atom {k} is not a data patch"
    assert bool((D.atom_norms() - 1).abs().max() < 1e-12)  # unit norm: no empty patch of flat background was drawn
    before = [piece.detach().clone() for piece in D.pieces()]
    D.init_from_coefficients_(coeffs, torch.Generator().manual_seed(2), atoms=torch.tensor([2]))
    after = D.pieces()
    assert all(torch.equal(b[[0, 1, 3]], a[[0, 1, 3]]) for b, a in zip(before, after))
    assert not all(torch.equal(b[2], a[2]) for b, a in zip(before, after))


def test_convolutional_lasso_matches_sklearn_on_unrolled_matrix(photographs):
    """homotopy_ista on the convolutional operator solves the same Lasso as scikit-learn on its unrolled matrix."""
    H, J, K = 16, 2, 4
    phi = Embedding2D((H, H), J, L=4, A=4).double()
    torch.manual_seed(0)
    D = ConvDictionary(K, 1, (H, H), J, L=4, A=4, atom_size=2).double()
    kernel = D.coarse_kernel(phi.lowpass).detach()
    kernel = kernel / kernel.flatten(1).norm(dim=1).view(-1, 1, 1, 1)  # unit-norm columns
    from gennet.sparse.dictionary import CoarseConvOperator

    op = CoarseConvOperator(kernel)
    basis = torch.eye(int(np.prod(op.code_shape)), dtype=torch.float64).reshape(-1, *op.code_shape)
    matrix = op.forward(basis).reshape(basis.shape[0], -1).T.numpy()  # (d, K·h·w)
    x = torch.from_numpy(resize(photographs["camera"], (H, H), anti_aliasing=True))[None, None] * 2 - 1
    w = phi(x)
    lam = 0.02
    for positive in (True, False):
        reference = Lasso(alpha=lam / matrix.shape[0], fit_intercept=False, positive=positive, tol=1e-12, max_iter=200_000)
        reference.fit(matrix, w.flatten().numpy())
        z = homotopy_ista(w, op, lam, n_layers=64, positive=positive).detach()
        error = np.linalg.norm(z.flatten().numpy() - reference.coef_) / np.linalg.norm(reference.coef_)
        assert error < 1e-3, (positive, error)


def test_bad_arguments():
    with pytest.raises(ValueError, match="atom_size"):
        ConvDictionary(4, 1, (32, 32), 3, atom_size=5)
    with pytest.raises(ValueError, match="num_atoms"):
        ConvDictionary(0, 1, (32, 32), 3)
    D = ConvDictionary(4, 1, (32, 32), 3)
    with pytest.raises(ValueError, match="codes of shape"):
        D(torch.zeros(1, 3, 4, 4))
