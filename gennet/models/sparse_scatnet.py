"""``sparse_scatnet``: scattering, a learned projection, a sparse code in a learned dictionary, a classifier.

The network of Zarka, Thiry, Angles & Mallat (ICLR 2020), DESIGN §7::

    x ─S_J→ standardize ─P (3×3 conv)→ ℓ2-normalize per position ─ISTC(D, λ*)→ BN → avg-pool → MLP

The only learned parts are ``P``, the dictionary ``D`` (and ``W`` if untied), ``λ*`` and the head: the
representation is a sparse code of the projected scattering coefficients in ``D``, computed by positive
homotopy ISTC (:class:`~gennet.sparse.ISTC`) on the 1×1 convolutional
operator :class:`~gennet.sparse.PointwiseOperator`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..sparse.istc import ISTC
from ..sparse.solver import HomotopyStats
from ..sparse.operator import PointwiseOperator
from .classifier_head import ClassifierHead
from .scattering_features import ScatteringFeatures

__all__ = ["SparseScatteringClassifier"]


class SparseScatteringClassifier(nn.Module):
    """Scattering + sparse-dictionary classifier. Input ``(B, C, H, W)`` float → logits ``(B, num_classes)``.

    1. ``features``: phase scattering ``S_J`` (``phases=A``; 1539 channels for RGB at J=4, L=8, A=4),
       standardized with train-set statistics (``features.fit_`` before training).
    2. ``projection``: ``Conv2d(C·K → proj_channels, proj_kernel × proj_kernel)``, no bias, then each
       position's vector is divided by its ℓ2 norm: ``y_p = P(s)_p / ‖P(s)_p‖`` (``‖y_p‖ = 1``).
    3. Sparse code ``z: (B, num_atoms, h, w) ≥ 0`` of ``y`` in the dictionary ``D: (proj_channels,
       num_atoms)`` with unit-norm atoms (``D`` is normalized column-wise in every forward pass, so the
       optimizer may move it freely): ``n_layers`` of positive geometric ISTC,
       ``z ← ρ(z + η Wᵀ(y − D z) − η λ_n)``, ``η = 1/‖D‖²``, ``λ_n = λ_0 (λ*/λ_0)^{n/N}``. ``λ_0 = ‖Wᵀy‖_∞``
       is taken per image (over all positions and atoms), so a prediction never depends on the rest of
       the batch. ``W = D`` when ``tied``; else a separate learned ``W`` initialized to ``D``.
       ``λ* = max(exp(log λ*), lambda_min)``, learned if ``learn_lambda``.
    4. ``head``: :class:`~gennet.models.classifier_head.ClassifierHead` on ``z`` (BatchNorm, average
       pool, MLP or linear).

    Source: J. Zarka, L. Thiry, T. Angles, S. Mallat, "Deep network classification by scattering and
    dictionary learning", ICLR 2020 (arXiv:1910.03561), §3–4 and eq. (4) (ISTC).

    Args:
        shape: ``(H, W)`` in pixels. channels: ``C``. num_classes: outputs.
        J, L, max_order, phases: of the scattering.
        proj_channels, proj_kernel: of the projection ``P`` (odd kernel, "same" padding).
        num_atoms: ``K``, columns of ``D``.
        n_layers: ISTC layers ``N``.
        lambda_star, lambda_min, learn_lambda: the final threshold, its floor, and whether it is learned.
        tied: ``W = D`` (True) or a separate ``W``.
        head, hidden, dropout, pool_size, pool_stride: of the head.
        seed: seeds the initial ``D`` (Gaussian, unit columns).

    Raises:
        ValueError: bad scattering or head settings, ``proj_kernel`` even or < 1, ``proj_channels`` or
            ``num_atoms`` < 1, and the :class:`~gennet.sparse.ISTC` checks (``λ* ≤ 0``, ``N < 1``).
    """

    def __init__(
        self,
        shape: tuple[int, int],
        channels: int,
        num_classes: int,
        J: int = 4,
        L: int = 8,
        max_order: int = 2,
        phases: int | None = 4,
        proj_channels: int = 256,
        proj_kernel: int = 3,
        num_atoms: int = 2048,
        n_layers: int = 12,
        lambda_star: float = 0.05,
        lambda_min: float = 0.05,
        learn_lambda: bool = True,
        tied: bool = True,
        head: str = "mlp",
        hidden: int = 4096,
        dropout: float = 0.3,
        pool_size: int = 5,
        pool_stride: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if proj_kernel < 1 or proj_kernel % 2 == 0:
            raise ValueError(f"proj_kernel must be odd and >= 1, got {proj_kernel}")
        if proj_channels < 1 or num_atoms < 1:
            raise ValueError(f"proj_channels and num_atoms must be >= 1, got {proj_channels}, {num_atoms}")
        self.features = ScatteringFeatures(shape, channels, J, L, max_order, phases)
        self.projection = nn.Conv2d(
            self.features.out_channels, proj_channels, proj_kernel, padding=proj_kernel // 2, bias=False
        )
        generator = torch.Generator().manual_seed(seed)
        atoms = torch.randn(proj_channels, num_atoms, generator=generator)
        self.dictionary = nn.Parameter(atoms / atoms.norm(dim=0, keepdim=True))
        self.analysis = None if tied else nn.Parameter(self.dictionary.detach().clone())
        self.ista = ISTC(lambda_star, n_layers, positive=True, learn_lambda=learn_lambda, lambda_min=lambda_min)
        self.head = ClassifierHead(num_atoms, self.features.out_size, num_classes, head, hidden, dropout,
                                   pool_size, pool_stride)

    def operator(self) -> PointwiseOperator:
        """The dictionary with unit-norm atoms (and ``W``) as a 1×1 convolutional operator."""
        atoms = self.dictionary / self.dictionary.norm(dim=0, keepdim=True).clamp_min(torch.finfo(self.dictionary.dtype).tiny)
        return PointwiseOperator(atoms, self.analysis)

    def project(self, x: Tensor) -> Tensor:
        """``y``: the ℓ2-normalized projection of the standardized scattering, ``(B, proj_channels, h, w)``."""
        return F.normalize(self.projection(self.features(x)), dim=1)

    def sparse_code(self, x: Tensor, return_stats: bool = False) -> Tensor | tuple[Tensor, HomotopyStats]:
        """``z ≥ 0``: ``(B, num_atoms, h, w)`` (and the code statistics)."""
        y = self.project(x)
        return self.ista(y, self.operator(), return_stats=return_stats)

    def stages(self) -> list[tuple[str, Callable[[Tensor], Tensor]]]:
        """``forward`` as steps applied in turn (for :mod:`gennet.analysis`): features, projection, ℓ2
        normalization, sparse code, then the head's layers (the normalization and the code are functions)."""

        def normalize(y: Tensor) -> Tensor:
            return F.normalize(y, dim=1)

        def sparse_code(y: Tensor) -> Tensor:
            return self.ista(y, self.operator())

        return [("features", self.features), ("projection", self.projection), ("normalization", normalize),
                ("sparse_code", sparse_code), ("head.norm", self.head.norm), ("head.pool", self.head.pool),
                ("head.classifier", self.head.classifier)]

    def forward(self, x: Tensor, return_stats: bool = False) -> Tensor | tuple[Tensor, HomotopyStats]:
        """``(B, C, H, W)`` → logits ``(B, num_classes)`` (and :class:`~gennet.sparse.HomotopyStats`)."""
        if return_stats:
            z, stats = self.sparse_code(x, return_stats=True)
            return self.head(z), stats
        return self.head(self.sparse_code(x))
