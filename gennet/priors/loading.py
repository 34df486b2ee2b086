"""Prior files read back, and unfitted priors built by their ``kind`` (DESIGN §12): only the kinds that
:mod:`gennet.priors` registers in :data:`~gennet.priors.prior.PRIOR_KINDS` (never an arbitrary class named by a file).

A file is checked whole before the prior is built: its ``kind`` is registered, its ``config`` holds arguments of that
class's constructor and plain values only, the prior it describes fits in the memory free here (built first on
PyTorch's ``meta`` device, which allocates nothing), its weights have exactly the names and shapes of that prior and are
finite, and the prior was fitted.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..limits import check_memory
from ..registry import check_arguments, weight_problems
from . import flow_matching, gaussian, mixture, pca_flow  # noqa: F401  (importing them registers their kinds)
from .prior import FORMAT, PRIOR_KINDS, Prior

__all__ = ["build_prior", "load_prior", "prior_from_content"]


def build_prior(kind: str, config: dict) -> Prior:
    """An unfitted prior of a registered ``kind`` from its :meth:`Prior.config`.

    Raises:
        ValueError: an unknown kind, or arguments its constructor refuses.
    """
    if kind not in PRIOR_KINDS:
        raise ValueError(f"unknown prior kind {kind!r} (known: {', '.join(sorted(PRIOR_KINDS))})")
    return PRIOR_KINDS[kind](**config)


def prior_bytes(prior: Prior) -> int:
    """Bytes of the parameters and buffers (saved or not) of ``prior``; of a prior on the ``meta`` device too."""
    tensors = list(prior.parameters()) + list(prior.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def prior_from_content(content: object, path: str | os.PathLike, kinds: tuple[str, ...] | None = None) -> Prior:
    """The fitted prior a file's content describes (``{"format", "kind", "config", "state_dict"}``), every part checked
    before use (module docstring); ``kinds`` restricts the kinds accepted.

    Raises:
        ValueError: ``'PATH' …`` naming the first part that fails.
    """
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ValueError(f"'{path}' is not a gennet prior file (format {FORMAT})")
    kind = content.get("kind")
    allowed = sorted(kinds or PRIOR_KINDS)
    if not isinstance(kind, str) or kind not in PRIOR_KINDS or kind not in allowed:
        raise ValueError(f"'{path}' names the prior kind {kind!r}; gennet reads {', '.join(allowed)}")
    cls = PRIOR_KINDS[kind]
    try:
        config = check_arguments(cls, content.get("config"), "config")
        with torch.device("meta"):  # the prior's size, with no memory spent
            skeleton = cls(**config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"'{path}' holds a {kind} prior gennet cannot build ({str(error).splitlines()[0][:240]})") from None
    try:
        check_memory("config", prior_bytes(skeleton), f"the {kind} prior this file describes")
    except ValueError as error:
        raise ValueError(f"'{path}': {error}") from None
    state = content.get("state_dict")
    problems = weight_problems(skeleton.state_dict(), state, cls.nan_allowed)
    if problems:
        raise ValueError(f"'{path}' holds weights that are not those of its {kind} prior ({'; '.join(problems[:3])})")
    if not bool(state[cls.fitted_flag]):
        raise ValueError(f"'{path}' holds a {kind} prior that was never fitted")
    prior = cls(**config)
    prior.load_state_dict(state)
    return prior


def load_prior(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Prior:
    """Read a prior written by :meth:`Prior.save` (``torch.load(weights_only=True)``), checked (:func:`prior_from_content`),
    in eval mode.

    Raises:
        ValueError: a missing or unreadable file, or one that is not a gennet prior or fails a check (the path is named).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no prior file at '{path}'")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any file torch cannot read with weights_only=True (bad pickle, zip, truncated bytes…)
        raise ValueError(f"'{path}' is not a readable prior file ({type(error).__name__})") from None
    return prior_from_content(content, path).to(map_location).eval()
