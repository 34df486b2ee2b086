"""Scattering classifiers (DESIGN §7): the pointwise dictionary, the sparse code, the head, on real images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gennet.models import ClassifierHead, ScatteringClassifier, SparseScatteringClassifier
from gennet.sparse import PointwiseOperator, homotopy_ista
from gennet.sparse.problems import sklearn_lasso


def test_pointwise_operator_is_a_1x1_convolution_with_its_adjoint():
    gen = torch.Generator().manual_seed(0)
    D = torch.randn(6, 10, generator=gen, dtype=torch.float64)
    z = torch.randn(3, 10, 4, 5, generator=gen, dtype=torch.float64)
    y = torch.randn(3, 6, 4, 5, generator=gen, dtype=torch.float64)
    op = PointwiseOperator(D)
    torch.testing.assert_close(op.forward(z), F.conv2d(z, D[:, :, None, None]))
    assert torch.allclose((op.forward(z) * y).sum(), (z * op.adjoint(y)).sum())
    np.testing.assert_allclose(float(op.norm_squared()), np.linalg.norm(D.numpy(), 2) ** 2, rtol=1e-12)
    W = torch.randn(6, 10, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(PointwiseOperator(D, W).adjoint(y), F.conv2d(y, W.T[:, :, None, None]))
    with pytest.raises(ValueError, match="W must have"):
        PointwiseOperator(D, W[:, :3])


def test_pointwise_lasso_matches_sklearn_on_the_block_diagonal_matrix():
    # One image, 2×3 positions: the pointwise Lasso is the Lasso of kron(I_positions, D).
    rng = np.random.default_rng(3)
    D = torch.tensor(rng.standard_normal((8, 20)), dtype=torch.float64)
    D = D / D.norm(dim=0)
    y = torch.tensor(rng.standard_normal((1, 8, 2, 3)), dtype=torch.float64)
    y = y / y.norm()
    z = homotopy_ista(y, PointwiseOperator(D), 0.05, n_layers=60, positive=True)
    big = torch.kron(torch.eye(6, dtype=torch.float64), D)  # rows (position, d), columns (position, k)
    y_flat = y[0].permute(1, 2, 0).reshape(1, -1)
    reference = sklearn_lasso(big, y_flat, 0.05, positive=True)[0].reshape(2, 3, 20).transpose(2, 0, 1)
    assert (reference > 0).any()
    np.testing.assert_allclose(z[0].numpy(), reference, atol=1e-6)


@pytest.fixture(scope="module")
def digits():
    from gennet.data.mnist5k import load_mnist5k

    images, labels = load_mnist5k()
    x = F.pad(images[:16] / 127.5 - 1, (2, 2, 2, 2), value=-1.0)
    return x, labels[:16]


def small_sparse(**kwargs) -> SparseScatteringClassifier:
    settings = dict(J=2, proj_channels=16, num_atoms=48, hidden=32, pool_size=2, pool_stride=2)
    return SparseScatteringClassifier((32, 32), 1, 10, **{**settings, **kwargs})


def test_sparse_code_is_nonnegative_normalized_and_per_image(digits):
    x, _ = digits
    model = small_sparse().eval()
    model.features.fit_([x[:8], x[8:]])
    y = model.project(x)
    torch.testing.assert_close(y.norm(dim=1), torch.ones(16, 8, 8))  # ℓ2-normalized at every position
    z, stats = model.sparse_code(x, return_stats=True)
    assert z.shape == (16, 48, 8, 8) and (z >= 0).all() and 0 < float(stats.sparsity) < 1
    assert torch.allclose(model.operator().D.norm(dim=0), torch.ones(48))
    with torch.no_grad():  # λ_0 per image: a prediction does not depend on the rest of the batch
        torch.testing.assert_close(model(x)[3:4], model(x[3:4]), rtol=1e-5, atol=1e-6)


def test_gradients_reach_every_learned_part_and_lambda_floor(digits):
    x, labels = digits
    model = small_sparse(tied=False, lambda_star=0.1, lambda_min=0.08)
    model.features.fit_([x])
    logits, stats = model(x, return_stats=True)
    F.cross_entropy(logits, labels).backward()
    for name in ("projection.weight", "dictionary", "analysis", "ista.log_lambda", "head.classifier.2.weight"):
        parameter = dict(model.named_parameters())[name]
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    with torch.no_grad():
        model.ista.log_lambda.fill_(-10.0)
    assert float(model.ista.lambda_star.detach()) == pytest.approx(0.08)  # λ* never below lambda_min
    assert "features.standardization.mean" in model.state_dict()


def test_channel_counts_of_the_paper_and_the_baseline():
    # DESIGN §7: RGB 224², J=4, L=8, A=4 → 3 + 384 + 1152 = 1539 channels on a 14×14 grid
    model = SparseScatteringClassifier((224, 224), 3, 1000, proj_channels=8, num_atoms=16, hidden=8)
    assert model.features.out_channels == 1539 and model.features.out_size == (14, 14)
    assert model.head.in_features == 16 * 10 * 10  # 5×5 average pooling, stride 1
    baseline = ScatteringClassifier((224, 224), 3, 1000, hidden=8)
    assert baseline.features.out_channels == 3 * (1 + 4 * 8 + 64 * 6)  # kymatio's 417 per color


def test_head_pools_with_a_clamped_window_and_linear_option():
    head = ClassifierHead(7, (3, 4), 5, head="linear", pool_size=5)
    assert head.pool.kernel_size == (3, 4) and head.in_features == 7
    assert head(torch.randn(2, 7, 3, 4)).shape == (2, 5)
    mlp = ClassifierHead(7, (6, 6), 5, hidden=11, pool_size=2, pool_stride=2)
    assert mlp.in_features == 7 * 3 * 3 and mlp(torch.randn(2, 7, 6, 6)).shape == (2, 5)
    with pytest.raises(ValueError, match="head must be"):
        ClassifierHead(7, (6, 6), 5, head="svm")
    with pytest.raises(ValueError, match="dropout"):
        ClassifierHead(7, (6, 6), 5, dropout=1.0)
    with pytest.raises(ValueError, match="proj_kernel"):
        small_sparse(proj_kernel=2)
