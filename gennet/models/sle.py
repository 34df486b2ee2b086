"""``sle``: the Shared Local Encoder — 1×1 convolutions on scattering coefficients, then a classifier (DESIGN §11).

    x ─S_J→ flatten colors ─BatchNorm (no affine)→ [1×1 conv ─BN─ReLU]×n → average pool → MLP

Oyallon, Belilovsky & Zagoruyko, "Scaling the scattering transform: deep hybrid networks", ICCV 2017
(arXiv:1703.08961): the encoder sees one position of ``S_J x`` at a time — a descriptor of a 2^J × 2^J
neighbourhood — shared over positions; on ImageNet (J = 4) it reaches AlexNet's accuracy (57% top-1,
80% top-5), and its first layer ``W₁`` learns rotation invariance (the angular analysis of
:mod:`gennet.analysis.angular`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from torch import nn

from .residual import init_resnet_
from .scattering_maps import scattering_maps

__all__ = ["SharedLocalEncoder"]


class SharedLocalEncoder(nn.Sequential):
    """Scattering + 1×1 convolutions + classifier. Input ``(B, C, H, W)`` float → logits ``(B, num_classes)``.

    Children, in order (the stages of :mod:`gennet.analysis`):

    - ``scattering``: ``S_J`` with the colors flattened, ``(B, C·K, h, w)``;
      ``norm``: ``BatchNorm2d(C·K, affine=False)``, running statistics averaged over all training batches
      (``momentum=None``, as in :class:`~gennet.models.HybridScatteringNet`).
    - ``encoder``: for each width ``F_i`` of ``widths``, ``Conv2d(·, F_i, 1×1, no bias)`` → BatchNorm → ReLU; the
      first of them is ``W₁``. Every position is encoded alone, with the same weights.
    - ``pool``: ``AvgPool2d(pool_size)`` (stride ``pool_size``; the window is clamped to the map) and flatten.
    - ``classifier``: for each width of ``hidden``, ``Linear`` → ``BatchNorm1d`` → ReLU → ``Dropout(dropout)``;
      then ``Linear(·, num_classes)``.

    Args:
        shape: ``(H, W)`` in pixels. channels: ``C``. num_classes: outputs.
        J, L, max_order, phases: of the scattering.
        widths: output channels of the 1×1 convolutions (at least one).
        pool_size: side of the average-pooling window (1: no pooling).
        hidden: widths of the hidden layers of the classifier (empty: a linear classifier).
        dropout: dropout probability after each hidden layer.

    Raises:
        ValueError: bad scattering settings, an empty ``widths``, a width, hidden size or ``pool_size`` < 1,
            ``dropout`` outside [0, 1).
    """

    def __init__(
        self,
        shape: tuple[int, int],
        channels: int,
        num_classes: int,
        J: int = 4,
        L: int = 8,
        max_order: int = 2,
        phases: int | None = None,
        widths: Sequence[int] = (1024, 1024, 1024),
        pool_size: int = 2,
        hidden: Sequence[int] = (4096, 4096),
        dropout: float = 0.3,
    ) -> None:
        widths, hidden = [int(w) for w in widths], [int(h) for h in hidden]
        if not widths or min(widths + hidden + [int(pool_size)]) < 1:
            raise ValueError(f"widths must be non-empty and widths, hidden, pool_size >= 1, got {widths}, {hidden}, {pool_size}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        front, K, (h, w) = scattering_maps(shape, J, L, max_order, phases)
        encoder, in_channels = [], channels * K
        for width in widths:
            encoder += [nn.Conv2d(in_channels, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            in_channels = width
        kernel = (min(pool_size, h), min(pool_size, w))
        features = in_channels * (h // kernel[0]) * (w // kernel[1])
        classifier = []
        for size in hidden:
            classifier += [nn.Linear(features, size), nn.BatchNorm1d(size), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            features = size
        classifier.append(nn.Linear(features, num_classes))
        super().__init__(OrderedDict(
            scattering=front,
            norm=nn.BatchNorm2d(channels * K, affine=False, momentum=None),  # cumulative average: S_J is fixed
            encoder=nn.Sequential(*encoder),
            pool=nn.Sequential(nn.AvgPool2d(kernel), nn.Flatten()),
            classifier=nn.Sequential(*classifier),
        ))
        init_resnet_(self)
