"""gennet: image generation as a sparse inverse problem (rectified wavelets, dictionaries, homotopy ISTA).

The core (:mod:`gennet.transforms`, :mod:`gennet.sparse`, :mod:`gennet.models`) is pure PyTorch;
Lightning, Hydra and wandb live at the edge (:mod:`gennet.lit`, :mod:`gennet.data`, :mod:`gennet.cli`).
"""

__version__ = "0.1.0"
