"""Priors over the embedding ``w = Φ(x)``: generation from noise is ``G(w)`` with ``w`` drawn from one (DESIGN §12).

Pure PyTorch. Every prior follows :class:`Prior`: fitted from embeddings ``(N, C_w, h, w)``, sampled with
``sample(n, generator, temperature)``, saved with :meth:`Prior.save` and read back with :func:`load_prior`:

- :class:`GaussianEmbedding` — one Gaussian ``N(μ, Σ)`` (full or stationary covariance; Angles & Mallat 2018),
  and its conditional form :class:`ConditionalGaussianEmbedding` (coarse-grain sampling);
- :class:`GaussianMixturePrior` — a Gaussian mixture in a whitened PCA subspace of ``w`` (EM);
- :class:`FlowMatchingPrior` — a learned velocity field on the coarse grid of ``w`` (flow matching), with its
  convolutional network :class:`ConvVelocity`; optionally conditioned on the low-pass channels (multiscale:
  ``w_low`` first, then the bands given it);
- :class:`MultiscalePrior` — ``p(w_low)`` Gaussian times local, stationary Gaussian conditionals of the bands given the
  low-pass patch around each position (Guth et al. 2022; Kadkhodaie et al. 2023): learns from few images;
- :class:`PCAFlowPrior` — flow matching on the leading principal coordinates of ``w`` with an MLP
  (:class:`MLPVelocity`): the digits' best prior, trained on a CPU in minutes.

Sampling with a prior: :func:`coarse_grain` (draws given the low-pass channels of images' embeddings, decoded),
:func:`slerp` (interpolation along a prior's noise space) and :class:`ScoreRefinement` (decoded samples moved up a flow
prior's density of their embedding, :func:`flow_score`).
"""

from .coarse_grain import coarse_grain, lowpass_channels
from .flow_matching import ConditionalFlowSampler, FlowMatching, FlowMatchingPrior
from .gaussian import ConditionalGaussianEmbedding, GaussianEmbedding
from .interpolation import slerp
from .mixture import GaussianMixturePrior
from .multiscale import MultiscaleConditional, MultiscalePrior
from .pca_flow import PCAFlowPrior
from .loading import build_prior, load_prior
from .prior import PRIOR_KINDS, Prior
from .refinement import ScoreRefinement, flow_score
from .velocity import ConvVelocity, MLPVelocity

__all__ = ["ConditionalFlowSampler", "ConditionalGaussianEmbedding", "ConvVelocity", "FlowMatching", "FlowMatchingPrior",
           "GaussianEmbedding", "GaussianMixturePrior", "MLPVelocity", "MultiscaleConditional", "MultiscalePrior", "PCAFlowPrior", "PRIOR_KINDS", "Prior", "ScoreRefinement",
           "build_prior", "coarse_grain", "flow_score", "load_prior", "lowpass_channels", "slerp"]
