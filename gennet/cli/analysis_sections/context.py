"""What every section of :mod:`gennet.cli.analysis_sections` is given (:class:`Context`) and returns
(:class:`Section`), and the check of their options (``reliance.*`` in ``gennet/conf/analyze.yaml``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ...analysis import lipschitz_upper_bound, network_stages
from ...errors import ConfigError, check_int, check_number

__all__ = ["Context", "Section", "check_options"]


@dataclass
class Context:
    """One trained network and its test images.

    Attributes:
        name: how tables and figures call it (e.g. ``"hybrid_scatnet"``).
        network: eval mode, on ``device``.
        images, labels: test images ``(N, C, H, W)`` (as the run's data module gives them: flipped for a run
            trained with ``data.frequency_flip``) and labels ``(N,)``, on ``device``.
        options: the checked ``reliance`` options (:func:`check_options`).
        batch_size: for every pass over the images.
    """

    name: str
    network: nn.Module
    images: Tensor
    labels: Tensor
    options: dict
    device: torch.device
    batch_size: int = 256
    seed: int = 0

    @torch.no_grad()
    def accuracy(self, images: Tensor | None = None, labels: Tensor | None = None) -> float:
        """Accuracy (fraction) on ``images`` and ``labels`` (default: all the test images)."""
        images, labels = (self.images, self.labels) if images is None else (images, labels)
        predictions = torch.cat([self.network(x).argmax(1) for x in images.split(self.batch_size)])
        return float((predictions == labels).double().mean())

    @functools.cached_property
    def lipschitz(self) -> float | None:
        """The product of the per-layer Lipschitz bounds of the logits (``None``: a layer has no rule)."""
        _, product = lipschitz_upper_bound(network_stages(self.network), self.images[:1],
                                           n_iter=self.options["lipschitz_iterations"])
        return product

    def subset(self, n: int) -> tuple[Tensor, Tensor]:
        """The first ``n`` test images and labels (the test set is already a seeded random subset)."""
        return self.images[:n], self.labels[:n]


@dataclass
class Section:
    """``numbers`` for the JSON, ``row``: ``{column: text}`` for the comparison table, ``figures``:
    ``{file stem: matplotlib Figure}``, ``report``: Markdown lines."""

    numbers: dict
    row: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    report: list = field(default_factory=list)


def _numbers(key: str, values, minimum: float = 0.0, strict: bool = True) -> list[float]:
    values = [check_number(f"{key}[{i}]", v, minimum, strict=strict) for i, v in enumerate(values or [])]
    if not values:
        raise ConfigError(key, "must list at least one value")
    return values


def check_options(cfg) -> dict:
    """The ``reliance`` options as plain values, checked (one line naming the key on a bad one)."""
    margins, robustness, spectral = cfg.margins, cfg.robustness, cfg.spectral
    return dict(
        images=check_int("reliance.images", cfg.images, 2),
        radii=_numbers("reliance.radii", cfg.radii),
        smoothing=_numbers("reliance.smoothing", cfg.smoothing, 0.0, strict=False),
        smoothing_epsilon=check_number("reliance.smoothing_epsilon", cfg.smoothing_epsilon, 0.0),
        lipschitz_iterations=check_int("reliance.lipschitz_iterations", cfg.lipschitz_iterations, 1),
        consistency_images=check_int("reliance.consistency_images", cfg.consistency_images, 2),
        margins=dict(
            images=check_int("reliance.margins.images", margins.images, 1),
            block=check_int("reliance.margins.block", margins.block, 1),
            step=check_int("reliance.margins.step", margins.step, 1),
            max_iter=check_int("reliance.margins.max_iter", margins.max_iter, 1),
            overshoot=check_number("reliance.margins.overshoot", margins.overshoot, 0.0),
            candidates=None if margins.candidates is None else check_int("reliance.margins.candidates", margins.candidates, 2),
        ),
        robustness=dict(
            images=check_int("reliance.robustness.images", robustness.images, 1),
            Linf=_numbers("reliance.robustness.linf", robustness.linf),
            L2=_numbers("reliance.robustness.l2", robustness.l2),
            steps=check_int("reliance.robustness.steps", robustness.steps, 1),
        ),
        spectral=dict(
            lines=check_int("reliance.spectral.lines", spectral.lines, 1),
            points=check_int("reliance.spectral.points", spectral.points, 8),
            radius=check_number("reliance.spectral.radius", spectral.radius, 0.0, strict=True),
            cutoff=check_number("reliance.spectral.cutoff", spectral.cutoff, 0.0, strict=True),
        ),
    )
