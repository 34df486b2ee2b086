"""Several statistics models imposed together: Φ(x) = (Φ_1(x), Φ_2(x), …), each model with its weight in the loss.

:func:`~gennet.stationary.synthesize` minimizes the mean over the ``M`` statistics of the squared residuals in
units of ``scale``; :class:`JointStatistics` concatenates its models' statistics and divides each model's units by
``√(w_m · M / M_m)``, so that the loss is ``Σ_m w_m · (mean squared residual of model m)``: a model's weight does not
depend on how many statistics it has (the phase-harmonic covariances have ~2,000, the scattering spectra ~1,000).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["JointStatistics"]


class JointStatistics(nn.Module):
    """The statistics of several models of the same images, concatenated.

    Args:
        models: name → a statistics module (``forward (B, C, H, W) → (B, M_m)``, ``scale(target, raw) → (M_m,)``,
            ``M``, ``describe()``), e.g. :class:`~gennet.stationary.PhaseHarmonicCovariance2D` and
            :class:`~gennet.stationary.ScatteringSpectra2D`.
        weights: name → weight ``w_m > 0`` of that model's mean squared residual in the loss (default 1 each).

    Shapes: ``forward(x)``: ``(B, C, H, W)`` → ``(B, M)``, ``M = Σ M_m``, in the models' order.

    Raises:
        ValueError: no model, a weight for an unknown model or a weight ≤ 0.
    """

    def __init__(self, models: dict[str, nn.Module], weights: dict[str, float] | None = None) -> None:
        super().__init__()
        if not models:
            raise ValueError("JointStatistics needs at least one model")
        weights = dict(weights or {})
        unknown = set(weights) - set(models)
        if unknown or any(float(w) <= 0 for w in weights.values()):
            raise ValueError(f"weights must be > 0 and name models of {sorted(models)}, got {weights}")
        self.models = nn.ModuleDict(models)
        self.weights = {name: float(weights.get(name, 1.0)) for name in models}

    @property
    def M(self) -> int:
        """The number of statistics (the sum over the models)."""
        return sum(model.M for model in self.models.values())

    def describe(self) -> dict[str, int]:
        """``{"model/family": count}`` in output order."""
        return {f"{name}/{family}": count for name, model in self.models.items() for family, count in model.describe().items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` → ``(B, M)``: each model's statistics, concatenated."""
        return torch.cat([model(x) for model in self.models.values()], dim=1)

    def scale(self, target: torch.Tensor, raw: torch.Tensor | None = None) -> torch.Tensor:
        """Each model's ``scale`` divided by ``√(w_m · M / M_m)``, concatenated: ``(M,)``."""
        if target.dim() == 3:
            target = target[None]
        raw = self.forward(target[:1])[0].detach() if raw is None else raw
        scales, start = [], 0
        for name, model in self.models.items():
            part = raw[start : start + model.M]
            start += model.M
            scales.append(model.scale(target, raw=part) / math.sqrt(self.weights[name] * self.M / model.M))
        return torch.cat(scales)

    def extra_repr(self) -> str:
        return f"M={self.M}, weights={self.weights}"
