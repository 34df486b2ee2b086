"""The interface every prior over the embedding ``w = Φ(x)`` follows, and its file format (DESIGN §12).

A prior is an ``nn.Module`` over embeddings of one shape ``(C_w, h, w)``:

- :meth:`Prior.fit_` — fitted from training embeddings ``(N, C_w, h, w)`` (and, where it uses them, held-out
  validation embeddings: early stopping, model selection);
- :meth:`Prior.sample` — ``n`` draws ``(n, C_w, h, w)`` float32 with a ``torch.Generator`` and a ``temperature``
  (1: the fitted model; 0: its most likely point or mode; what it scales is said by each prior);
- optionally :meth:`Prior.to_noise` / :meth:`Prior.from_noise` — a bijection to a standard Gaussian noise space
  (interpolation that stays on the prior's support: interpolate the noises, decode);
- optionally :meth:`Prior.condition` — the prior conditioned on some channels of ``w`` (coarse-grain sampling).

:meth:`Prior.save` writes ``{"format", "kind", "config", "state_dict"}`` (plain tensors and types: loads with
``weights_only=True``); :func:`~gennet.priors.loading.load_prior` reads it back, building only the kinds registered in
:data:`PRIOR_KINDS` (never an arbitrary class named by a file).
"""

from __future__ import annotations

import os

import torch
from torch import Tensor, nn

from ..files import save_torch_atomic

__all__ = ["Prior", "PRIOR_KINDS", "FORMAT", "register_prior"]

FORMAT = "gennet.prior/1"

#: ``kind`` → prior class; filled by :func:`register_prior` as the prior modules are imported.
PRIOR_KINDS: dict[str, type] = {}


def register_prior(kind: str):
    """Class decorator: ``kind`` names the class in saved files (:func:`load_prior`)."""

    def decorate(cls):
        cls.kind = kind
        PRIOR_KINDS[kind] = cls
        return cls

    return decorate


class Prior(nn.Module):
    """A probability model of embeddings ``w: (C_w, h, w)``; see the module docstring.

    Subclasses set ``self.shape`` and implement :meth:`fit_`, :meth:`sample` and :meth:`config` (the plain
    constructor arguments that rebuild an unfitted copy); the noise-space maps and :meth:`condition` are
    optional (``supports_noise``, ``supports_condition``).
    """

    kind = "prior"
    #: the boolean buffer that says the prior was fitted (a file of an unfitted prior is refused)
    fitted_flag = "fitted"
    #: buffers where NaN means "not measured" (every other floating-point value read from a file must be finite)
    nan_allowed: tuple[str, ...] = ()
    supports_noise = False
    supports_condition = False
    shape: tuple[int, int, int]

    def check(self, w: Tensor) -> Tensor:
        """``w`` if it is ``(B, *shape)``; else ``ValueError`` naming both shapes."""
        if w.ndim != 4 or tuple(w.shape[1:]) != tuple(self.shape):
            raise ValueError(f"expected embeddings (B, {', '.join(map(str, self.shape))}), got {tuple(w.shape)}")
        return w

    def check_count(self, n: int) -> None:
        """Raise ``ValueError("KEY: …")`` (``KEY`` a constructor argument) if ``n`` training embeddings are too few to fit
        this prior; called by the fits, and by ``train_prior.py`` before the embeddings are computed."""

    def fit_(self, train: Tensor, val: Tensor | None = None) -> Prior:  # pragma: no cover - interface
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def config(self) -> dict:  # pragma: no cover - interface
        raise NotImplementedError

    def to_noise(self, w: Tensor) -> Tensor:
        raise ValueError(f"the {self.kind} prior has no noise space (use a flow prior or the Gaussian prior)")

    def from_noise(self, noise: Tensor) -> Tensor:
        raise ValueError(f"the {self.kind} prior has no noise space (use a flow prior or the Gaussian prior)")

    def condition(self, channels):
        raise ValueError(f"the {self.kind} prior cannot be conditioned on channels of w (use a flow prior or the Gaussian prior)")

    @staticmethod
    def check_draw(n: int, temperature: float) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1 or not temperature >= 0:
            raise ValueError(f"need n >= 1 and temperature >= 0, got n={n}, temperature={temperature}")

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted prior to ``path`` through a temporary file and a rename (never a half-written file)."""
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        save_torch_atomic({"format": FORMAT, "kind": self.kind, "config": self.config(), "state_dict": state}, path)
