"""``hybrid_scatnet``: a fixed scattering front end and a learned residual network behind it (DESIGN §11).

    x ─S_J→ flatten colors ─BatchNorm (no affine)→ 3×3 conv ─BN─ReLU→ residual stages → avg pool → linear

after Oyallon, Belilovsky & Zagoruyko, "Scaling the scattering transform: deep hybrid networks", ICCV 2017
(arXiv:1703.08961): on 224² ImageNet, J = 3 (28×28 maps, 3·217 channels), a 3×3 convolution to 256
channels, 2 basic blocks at 256 and 2 at 512 (stride 2), average pooling and a linear layer — "Scat +
ResNet-10", 12.8M parameters, top-5 error 11.4%. The blocks are torchvision's ``BasicBlock``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from torch import nn

from .residual import init_resnet_, residual_stage
from .scattering_maps import scattering_maps

__all__ = ["HybridScatteringNet"]


class HybridScatteringNet(nn.Sequential):
    """Scattering + ResNet. Input ``(B, C, H, W)`` float → logits ``(B, num_classes)``.

    Children, in order (also the stages of :mod:`gennet.analysis`):

    - ``scattering``: :class:`~gennet.transforms.Scattering2D` (order ``max_order``, modulus or ``phases=A``)
      and the colors flattened: ``(B, C·K, h, w)``, ``h = H/2^J`` when ``2^J`` divides ``H``.
    - ``norm``: ``BatchNorm2d(C·K, affine=False)`` — the scattering channels standardized (no learned
      parameter). Its running statistics are the cumulative average over the training batches
      (``momentum=None``): the scattering is fixed, so its statistics do not drift, and the default
      exponential average would keep a trace of its initial variance 1 — far above the variance of small
      second-order channels (~1e-5) on short runs.
    - ``stem``: ``Conv2d(C·K, widths[0], 3×3, no bias)`` → BatchNorm → ReLU: the first learned layer ``W₁``.
    - ``layer1`` … ``layerN``: :func:`~gennet.models.residual.residual_stage` with ``widths[i]`` channels and ``blocks[i]`` blocks,
      stride 1 for the first stage and 2 for the others.
    - ``pool``: global average pooling and flatten ``(B, widths[-1])``; ``fc``: ``Linear(widths[-1], num_classes)``.

    Convolutions are initialized as torchvision's ResNet (Kaiming normal, fan-out), BatchNorm to (1, 0).
    At 224², J=3, L=8, RGB, ``widths=(256, 512)``, ``blocks=(2, 2)``: 12.8M parameters (the paper's count).

    Args:
        shape: ``(H, W)`` in pixels. channels: ``C``. num_classes: outputs.
        J, L, max_order, phases: of the scattering (``phases=None``: kymatio's modulus scattering).
        widths: channels of each residual stage (the stem has ``widths[0]``).
        blocks: basic blocks per stage (same length as ``widths``).

    Raises:
        ValueError: bad scattering settings (:class:`~gennet.transforms.Scattering2D`), ``widths`` / ``blocks``
            empty, of different lengths or with a value < 1.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        channels: int,
        num_classes: int,
        J: int = 3,
        L: int = 8,
        max_order: int = 2,
        phases: int | None = None,
        widths: Sequence[int] = (256, 512),
        blocks: Sequence[int] = (2, 2),
    ) -> None:
        widths, blocks = [int(w) for w in widths], [int(b) for b in blocks]
        if not widths or len(widths) != len(blocks) or min(widths + blocks) < 1:
            raise ValueError(f"widths and blocks must be non-empty lists of the same length of integers >= 1, got {widths}, {blocks}")
        front, K, _ = scattering_maps(shape, J, L, max_order, phases)
        layers = OrderedDict(
            scattering=front,
            norm=nn.BatchNorm2d(channels * K, affine=False, momentum=None),  # cumulative average: S_J is fixed
            stem=nn.Sequential(nn.Conv2d(channels * K, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)),
        )
        in_channels = widths[0]
        for i, (width, count) in enumerate(zip(widths, blocks)):
            layers[f"layer{i + 1}"] = residual_stage(in_channels, width, count, 1 if i == 0 else 2)
            in_channels = width
        layers["pool"] = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        layers["fc"] = nn.Linear(in_channels, num_classes)
        super().__init__(layers)
        init_resnet_(self)

