"""Prior files read back, and unfitted priors built by their ``kind`` (DESIGN §12): only the kinds that
:mod:`gennet.priors` registers in :data:`~gennet.priors.prior.PRIOR_KINDS` (never an arbitrary class named by a file).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from . import flow_matching, gaussian, mixture, multiscale, pca_flow  # noqa: F401  (importing them registers their kinds)
from .prior import FORMAT, PRIOR_KINDS, Prior

__all__ = ["build_prior", "load_prior"]


def build_prior(kind: str, config: dict) -> Prior:
    """An unfitted prior of a registered ``kind`` from its :meth:`Prior.config`.

    Raises:
        ValueError: an unknown kind, or arguments its constructor refuses.
    """
    if kind not in PRIOR_KINDS:
        raise ValueError(f"unknown prior kind {kind!r} (known: {', '.join(sorted(PRIOR_KINDS))})")
    return PRIOR_KINDS[kind](**config)


def load_prior(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Prior:
    """Read a prior written by :meth:`Prior.save` (``torch.load(weights_only=True)``), in eval mode.

    Raises:
        ValueError: a missing or unreadable file, or one that is not a gennet prior (the path is named).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no prior file at '{path}'")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any file torch cannot read with weights_only=True (bad pickle, zip, truncated bytes…)
        raise ValueError(f"'{path}' is not a readable prior file ({type(error).__name__})") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ValueError(f"'{path}' is not a gennet prior file (format {FORMAT})")
    prior = build_prior(content["kind"], content["config"])
    prior.load_state_dict(content["state_dict"], strict=False)
    return prior.to(map_location).eval()
