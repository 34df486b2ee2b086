"""The hand-written backward of the coarse convolution's Lasso optimality map (gennet.sparse.coarse_optimality)."""

import torch

from gennet.sparse.coarse_optimality import coarse_lasso_optimality
from gennet.sparse.dictionary import CoarseConvOperator
from gennet.sparse.operator import LinearOperator


def _case(lam_shape):
    g = torch.Generator().manual_seed(0)
    kernel = torch.randn(3, 4, 4, 3, dtype=torch.float64, generator=g)  # K=3, C=4, h=4, w=3 (odd: unpaired bins)
    y = torch.randn(2, 4, 4, 3, dtype=torch.float64, generator=g)
    z = torch.randn(2, 3, 4, 3, dtype=torch.float64, generator=g) * (torch.rand(2, 3, 4, 3, generator=g) < 0.5)
    lam = torch.rand(lam_shape, dtype=torch.float64, generator=g) + 0.1
    return kernel, y, z, lam


def _plain(kernel, y, z, lam):
    """Autograd through the plain formula (the base class's :meth:`LinearOperator.lasso_optimality`)."""
    return LinearOperator.lasso_optimality(CoarseConvOperator(kernel), z, y, lam)


def test_values_and_gradients_match_autograd_of_the_plain_formula():
    for lam_shape in ((), (2, 1, 1, 1)):
        kernel, y, z, lam = _case(lam_shape)
        leaves = [t.clone().requires_grad_(True) for t in (kernel, y, lam)]
        plain = [t.clone().requires_grad_(True) for t in (kernel, y, lam)]
        op = CoarseConvOperator(leaves[0])
        F, r, c = op.lasso_optimality(z, leaves[1], leaves[2])
        F0, r0, c0 = _plain(plain[0], plain[1], z, plain[2])
        assert torch.equal(F.detach(), F0.detach()) and torch.equal(r, r0) and torch.equal(c, c0)
        assert not r.requires_grad and not c.requires_grad
        v = torch.randn(F.shape, dtype=F.dtype, generator=torch.Generator().manual_seed(1))
        (F * v).sum().backward()
        (F0 * v).sum().backward()
        for mine, reference in zip(leaves, plain):
            assert mine.grad.shape == reference.grad.shape
            torch.testing.assert_close(mine.grad, reference.grad, rtol=1e-10, atol=1e-12)


def test_gradcheck():
    kernel, y, z, lam = _case((2, 1, 1, 1))

    # k̂ is a constant of the pass: rebuilt from the (perturbed) kernel at every call, so that it stays its transform
    def F_consistent(kernel, y, lam):
        return coarse_lasso_optimality(y, kernel, torch.fft.rfft2(kernel).detach(), z, lam)[0]

    inputs = tuple(t.clone().requires_grad_(True) for t in (kernel, y, lam))
    assert torch.autograd.gradcheck(F_consistent, inputs)


def test_coarse_products_match_autograd_of_the_plain_products_and_gradcheck():
    """A z and Aᵀ y with the hand-written backward (gennet.sparse.coarse_products) against autograd through rfft2 →
    einsum → irfft2 of a differentiable k̂, and against finite differences."""
    from gennet.sparse.coarse_products import coarse_conv

    kernel, y, z, _ = _case(())
    for adjoint, x in ((False, z), (True, y)):
        mine = [t.clone().requires_grad_(True) for t in (x, kernel)]
        plain = [t.clone().requires_grad_(True) for t in (x, kernel)]
        out = coarse_conv(mine[0], mine[1], torch.fft.rfft2(mine[1].detach()), adjoint)
        k_hat = torch.fft.rfft2(plain[1])
        equation, k_hat = ("bchw,kchw->bkhw", k_hat.conj()) if adjoint else ("bkhw,kchw->bchw", k_hat)
        ref = torch.fft.irfft2(torch.einsum(equation, torch.fft.rfft2(plain[0]), k_hat), s=x.shape[-2:])
        assert torch.equal(out.detach(), ref.detach())
        g = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(3))
        (out * g).sum().backward()
        (ref * g).sum().backward()
        for a, b in zip(mine, plain):
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)
        inputs = tuple(t.clone().requires_grad_(True) for t in (x, kernel))
        assert torch.autograd.gradcheck(lambda x, k: coarse_conv(x, k, torch.fft.rfft2(k).detach(), adjoint), inputs)


def test_unit_columns_match_autograd_of_the_plain_normalization_and_gradcheck():
    from gennet.sparse.unit_columns import unit_columns

    g = torch.Generator().manual_seed(4)
    atoms = torch.randn(5, 3, 2, 2, dtype=torch.float64, generator=g)
    atoms[2] = 0  # a zero atom: the clamp's branch
    g_unit = torch.randn(atoms.shape, dtype=torch.float64, generator=g)
    g_norms = torch.randn(5, dtype=torch.float64, generator=g)
    mine, plain = atoms.clone().requires_grad_(True), atoms.clone().requires_grad_(True)
    unit, norms = unit_columns(mine)
    ref_norms = torch.linalg.vector_norm(plain, dim=(1, 2, 3)).clamp_min(1e-12)
    ref_unit = plain / ref_norms.view(-1, 1, 1, 1)
    assert torch.equal(unit, ref_unit) and torch.equal(norms, ref_norms)
    ((unit * g_unit).sum() + (norms * g_norms).sum()).backward()
    ((ref_unit * g_unit).sum() + (ref_norms * g_norms).sum()).backward()
    torch.testing.assert_close(mine.grad, plain.grad, rtol=1e-12, atol=1e-12)
    # one of the two outputs alone
    for use_unit in (True, False):
        mine.grad, plain.grad = None, None
        out, ref = (unit_columns(mine)[0], plain / torch.linalg.vector_norm(plain, dim=(1, 2, 3)).clamp_min(1e-12).view(-1, 1, 1, 1)) \
            if use_unit else (unit_columns(mine)[1], torch.linalg.vector_norm(plain, dim=(1, 2, 3)).clamp_min(1e-12))
        weight = g_unit if use_unit else g_norms
        (out * weight).sum().backward()
        (ref * weight).sum().backward()
        torch.testing.assert_close(mine.grad, plain.grad, rtol=1e-12, atol=1e-12)
    nonzero = torch.randn(4, 3, 2, 2, dtype=torch.float64, generator=g).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: unit_columns(a), (nonzero,))
