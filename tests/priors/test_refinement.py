"""Score refinement by a flow prior: the score read from the velocity is the closed-form score of a Gaussian (a flow
whose velocity is the exact one for Gaussian data), and the refinement of real image patches raises the prior's density
of their embedding Φ(x), stays in [−1, 1], and refuses priors without a score."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gennet.priors import GaussianMixturePrior, PCAFlowPrior, ScoreRefinement, flow_score
from gennet.transforms.embedding import Embedding2D


class GaussianVelocity(nn.Module):
    """The exact flow-matching velocity for data ``y₁ ~ N(0, diag(var))`` on the path ``y_t = t y₁ + (1 − t) ξ``:
    ``E[y₁ − ξ | y_t = y] = (t·var − (1 − t)) y / (t²·var + (1 − t)²)``."""

    def __init__(self, var: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("var", var)

    def forward(self, y, t, condition=None):
        t = t[:, None]
        return (t * self.var - (1 - t)) * y / (t**2 * self.var + (1 - t) ** 2)


def gaussian_log_density(y: torch.Tensor, var: torch.Tensor, t: float) -> torch.Tensor:
    """``log p_t(y)`` up to a constant, ``p_t = N(0, t²·var + (1 − t)²)``."""
    return -0.5 * (y.square() / (t**2 * var + (1 - t) ** 2)).sum(1)


def patches(n: int, seed: int) -> torch.Tensor:
    """``n`` random 32×32 patches of scikit-image's camera, in [−1, 1]: ``(n, 1, 32, 32)``."""
    from skimage.data import camera

    image = torch.from_numpy(camera()).float() / 127.5 - 1
    g = torch.Generator().manual_seed(seed)
    corners = torch.randint(0, image.shape[0] - 32, (n, 2), generator=g)
    return torch.stack([image[i : i + 32, j : j + 32] for i, j in corners.tolist()])[:, None]


@pytest.fixture(scope="module")
def setting():
    embedding = Embedding2D((32, 32), J=2, L=8, A=4)
    with torch.no_grad():
        w = embedding(patches(300, 0))
    prior = PCAFlowPrior(tuple(w.shape[1:]), dim=12, width=8, depth=1, time_dim=8).fit_statistics_(w)
    var = prior.standardize(w).var(0).double().float()
    prior.network = GaussianVelocity(var)  # the prior of these coordinates if they were Gaussian, exactly
    return embedding, prior, var


def test_the_score_from_the_velocity_is_the_gaussian_score(setting):
    _, prior, var = setting
    y = torch.randn(16, 12, generator=torch.Generator().manual_seed(1)) * 3
    for t in (0.3, 0.9, 0.98):
        expected = -y / (t**2 * var + (1 - t) ** 2)
        torch.testing.assert_close(flow_score(prior, y, t), expected, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="0 < t < 1"):
        flow_score(prior, y, 1.0)


def test_refinement_raises_the_density_of_the_embedding_and_stays_an_image(setting):
    embedding, prior, var = setting
    x0 = (patches(24, 5) + 0.3 * torch.randn(24, 1, 32, 32, generator=torch.Generator().manual_seed(6))).clamp(-1, 1)
    refine = ScoreRefinement(prior, embedding, steps=5, time=0.9, step_size=0.002)
    x = refine(x0)
    assert x.shape == x0.shape and x.min() >= -1 and x.max() <= 1 and not x.requires_grad
    with torch.no_grad():
        before = gaussian_log_density(prior.standardize(embedding(x0)), var, 0.9)
        after = gaussian_log_density(prior.standardize(embedding(x)), var, 0.9)
    assert (after > before).float().mean() > 0.9 and (after - before).mean() > 0
    assert 0 < (x - x0).abs().mean() < 0.2  # moved, but stays near the decoded image
    assert torch.equal(ScoreRefinement(prior, embedding, steps=0)(x0), x0)


def test_refuses_priors_without_a_score_and_bad_settings(setting):
    embedding, prior, _ = setting
    with pytest.raises(ValueError, match="flow prior"):
        ScoreRefinement(GaussianMixturePrior((65, 8, 8)), embedding)
    for bad in ({"time": 1.0}, {"time": 0.0}, {"steps": -1}, {"step_size": 0.0}):
        with pytest.raises(ValueError):
            ScoreRefinement(prior, embedding, **bad)
