"""The multiscale prior p(w_low)·Π_n p(w_band[n] | w_low near n): it recovers a model it can represent (the regression
and the residual covariance, patches built here with torch.roll, not with its own unfold), its conditional keeps the
low-pass channels and is the affine prediction at temperature 0, the low-pass patch predicts held-out bands of real
faces (LFW) better than the per-position mean, gray images draw gray embeddings, and it saves and loads."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gennet.priors import MultiscalePrior, load_prior
from gennet.priors.coarse_grain import lowpass_channels

H = W = 6
C_B = 3  # band channels of the synthetic model
R = 1


def patches_by_roll(low: torch.Tensor, r: int) -> torch.Tensor:
    """``(B, C_l, h, w)`` → ``(B, h·w, C_l·(2r+1)²)``: channel-major, then the patch row, then the column (periodic)."""
    columns = [torch.roll(low[:, c], shifts=(r - ki, r - kj), dims=(1, 2))
               for c in range(low.shape[1]) for ki in range(2 * r + 1) for kj in range(2 * r + 1)]
    return torch.stack(columns, -1).flatten(1, 2)


def synthetic(n: int, seed: int):
    """Embeddings ``(n, 1 + C_B, H, W)`` drawn from a model of the prior's form, with its true parameters."""
    g = torch.Generator().manual_seed(seed)
    truth = torch.Generator().manual_seed(123)
    A = torch.randn(9, C_B, generator=truth, dtype=torch.float64)
    L = torch.tril(torch.randn(C_B, C_B, generator=truth, dtype=torch.float64)) * 0.3 + torch.eye(C_B, dtype=torch.float64) * 0.5
    band_mean = torch.randn(H * W, C_B, generator=truth, dtype=torch.float64)
    low = F.avg_pool2d(torch.randn(n, 1, H, W, generator=g, dtype=torch.float64), 3, 1, 1, count_include_pad=False) + 2.0
    f = patches_by_roll(low, R)
    bands = band_mean + (f - f.mean(0)) @ A + torch.randn(n, H * W, C_B, generator=g, dtype=torch.float64) @ L.T
    w = torch.cat([low, bands.transpose(1, 2).reshape(n, C_B, H, W)], 1)
    return w.float(), A, L @ L.T


def test_recovers_the_regression_and_the_residual_covariance_of_a_model_it_can_represent():
    w, A, covariance = synthetic(3000, 0)
    prior = MultiscalePrior((1 + C_B, H, W), [0], radius=R, shrinkage=0.0, ridge=0.0).fit_(w)
    torch.testing.assert_close(prior.regression, A, atol=0.03, rtol=0)
    fitted = prior.residual_factor @ prior.residual_factor.T
    torch.testing.assert_close(fitted, covariance, atol=0.02, rtol=0)
    # the patches are those built by rolling the grid (periodic borders, channel-major order)
    low = w[:5, :1].double()
    torch.testing.assert_close(prior.features(low), patches_by_roll(low, R))


def test_draws_have_the_fitted_moments_and_the_conditional_keeps_the_low_pass():
    w, _, _ = synthetic(2000, 1)
    prior = MultiscalePrior((1 + C_B, H, W), [0], radius=R, shrinkage=0.0, ridge=0.0).fit_(w)
    draws = prior.sample(4000, torch.Generator().manual_seed(2))
    assert draws.shape == (4000, 1 + C_B, H, W) and draws.dtype == torch.float32
    torch.testing.assert_close(draws.mean(0), w.mean(0), atol=0.1, rtol=0)
    torch.testing.assert_close(draws.std(0).mean(), w.std(0).mean(), atol=0.03, rtol=0.03)
    conditional = prior.condition([0])
    given = w[:3]
    out = conditional.sample(given, 5, torch.Generator().manual_seed(3))
    assert out.shape == (3, 5, 1 + C_B, H, W)
    assert torch.equal(out[:, :, 0], given[:, None, 0].expand(3, 5, H, W))
    assert out[:, :, 1:].std(1).mean() > 0.1  # the bands vary between draws of one condition
    # temperature 0: the affine prediction μ_b(n) + Aᵀ(f(n) − μ_f(n)) itself
    mean = conditional.sample(given, 1, temperature=0.0)[:, 0, 1:].double()
    expected = prior.band_mean + (patches_by_roll(given[:, :1].double(), R) - prior.feature_mean) @ prior.regression
    torch.testing.assert_close(mean, expected.transpose(1, 2).reshape(3, C_B, H, W), atol=1e-5, rtol=0)
    torch.testing.assert_close(prior.sample(2, temperature=0.0)[:, 0].double(), prior.low_mean.view(1, H, W).expand(2, H, W))



def test_gray_images_draw_gray_embeddings_despite_the_shrinkage():
    """Three equal colour blocks (gray images read as RGB): the shrunk low-pass covariance and the residual add no
    variance between the blocks, so every draw keeps them equal (the CNN decoder's whitening would amplify it)."""
    gray, _, _ = synthetic(40, 4)  # fewer images than low-pass numbers: the shrinkage matters
    w = torch.cat([gray, gray, gray], 1)
    low = lowpass_channels(w.shape[1:], 3)
    assert low == [0, 1 + C_B, 2 * (1 + C_B)]
    prior = MultiscalePrior(tuple(w.shape[1:]), low, radius=R, shrinkage=0.5).fit_(w)
    draws = prior.sample(200, torch.Generator().manual_seed(5)).unflatten(1, (3, 1 + C_B))
    assert draws[:, 0].std(0).mean() > 0.1
    torch.testing.assert_close(draws[:, 1], draws[:, 0], atol=1e-4, rtol=0)
    torch.testing.assert_close(draws[:, 2], draws[:, 0], atol=1e-4, rtol=0)

def test_the_low_pass_patch_predicts_held_out_bands_of_real_faces():
    from skimage.data import lfw_subset

    from gennet.transforms.embedding import Embedding2D

    faces = torch.from_numpy(lfw_subset()[:90]).float()[:, None] * 2 - 1
    x = F.interpolate(faces, size=(32, 32), mode="bilinear", align_corners=False)
    with torch.no_grad():
        w = Embedding2D((32, 32), J=2, L=8, A=4)(x)
    train, test = w[:50], w[50:]
    prior = MultiscalePrior(tuple(w.shape[1:]), lowpass_channels(w.shape[1:], 1), radius=1).fit_(train)
    predicted = prior.condition(prior.condition_channels).sample(test, 1, temperature=0.0)[:, 0, 1:]
    error_conditional = (predicted - test[:, 1:]).square().mean()
    error_mean = (train[:, 1:].mean(0) - test[:, 1:]).square().mean()
    assert error_conditional < 0.7 * error_mean  # the coarse face tells where the details are
    samples = prior.sample(40, torch.Generator().manual_seed(0))
    assert torch.isfinite(samples).all() and samples.flatten(1).std(0).mean() > 0.1 * w.flatten(1).std(0).mean()


def test_saves_loads_and_refuses_bad_input(tmp_path):
    w, _, _ = synthetic(100, 4)
    prior = MultiscalePrior((1 + C_B, H, W), [0], radius=1).fit_(w)
    prior.save(tmp_path / "p.pt")
    again = load_prior(tmp_path / "p.pt")
    assert isinstance(again, MultiscalePrior)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(again.sample(7, g()), prior.sample(7, g()))
    with pytest.raises(ValueError, match="fit it"):
        MultiscalePrior((1 + C_B, H, W), [0]).sample(2)
    with pytest.raises(ValueError, match="condition_channels"):
        MultiscalePrior((1 + C_B, H, W), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="radius"):
        MultiscalePrior((1 + C_B, H, W), [0], radius=-1)
    with pytest.raises(ValueError, match="expected embeddings"):
        prior.fit_(torch.zeros(10, 2, H, W))
    with pytest.raises(ValueError, match="conditions on channels"):
        prior.condition([1])
