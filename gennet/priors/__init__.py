"""Priors over the embedding ``w = Φ(x)``: generation from noise is ``G(w)`` with ``w`` drawn from one (DESIGN §12).

Pure PyTorch. Every prior follows :class:`Prior`: fitted from embeddings ``(N, C_w, h, w)``, sampled with
``sample(n, generator, temperature)``, saved with :meth:`Prior.save` and read back with :func:`load_prior`:

- :class:`GaussianEmbedding` — one Gaussian ``N(μ, Σ)`` (full or stationary covariance; Angles & Mallat 2018),
  and its conditional form :class:`ConditionalGaussianEmbedding` (coarse-grain sampling);
- :class:`GaussianMixturePrior` — a Gaussian mixture in a whitened PCA subspace of ``w`` (EM);
- :class:`FlowMatchingPrior` — a learned velocity field on the coarse grid of ``w`` (flow matching), with its
  convolutional network :class:`ConvVelocity`; optionally conditioned on the low-pass channels (multiscale:
  ``w_low`` first, then the bands given it);
- :class:`PCAFlowPrior` — flow matching on the leading principal coordinates of ``w`` with an MLP
  (:class:`MLPVelocity`): the digits' best prior, trained on a CPU in minutes.

Sampling with a prior: :func:`coarse_grain` (draws given the low-pass channels of images' embeddings, decoded) and
:func:`slerp` (interpolation along a prior's noise space).
"""

from .coarse_grain import coarse_grain, lowpass_channels
from .flow_matching import ConditionalFlowSampler, FlowMatching, FlowMatchingPrior
from .gaussian import ConditionalGaussianEmbedding, GaussianEmbedding
from .interpolation import slerp
from .mixture import GaussianMixturePrior
from .pca_flow import PCAFlowPrior
from .loading import build_prior, load_prior
from .prior import PRIOR_KINDS, Prior
from .velocity import ConvVelocity, MLPVelocity

__all__ = ["ConditionalFlowSampler", "ConditionalGaussianEmbedding", "ConvVelocity", "FlowMatching", "FlowMatchingPrior",
           "GaussianEmbedding", "GaussianMixturePrior", "MLPVelocity", "PCAFlowPrior", "PRIOR_KINDS", "Prior",
           "build_prior", "coarse_grain", "load_prior", "lowpass_channels", "slerp"]
