"""``resnet``: torchvision's ResNet-18, trained from scratch — the plain CNN the hybrids are compared with (DESIGN §11)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn
from torchvision.models import resnet18

__all__ = ["ResNet18"]

STEMS = ("cifar", "imagenet")


class ResNet18(nn.Sequential):
    """torchvision's ``resnet18`` (random weights), regrouped as stages. Input ``(B, C, H, W)`` → logits ``(B, num_classes)``.

    Children, in order (the stages of :mod:`gennet.analysis`): ``stem`` (conv → BN → ReLU → max pool),
    ``layer1`` … ``layer4`` (2 basic blocks each at 64, 128, 256, 512 channels), ``pool`` (global average
    pooling and flatten) and ``fc``. Exactly torchvision's modules and initialization; only the stem changes
    with ``stem``:

    - ``"imagenet"``: torchvision's 7×7 stride-2 convolution and 3×3 stride-2 max pooling (÷4), for 224² images;
    - ``"cifar"``: a 3×3 stride-1 convolution and no max pooling, the usual adaptation to 32² images
      (He, Zhang, Ren & Sun, CVPR 2016, §4.2, CIFAR-10: a 3×3 first layer on 32×32 inputs).

    The first convolution takes ``channels`` inputs (1 for digits). 11.2M parameters for 10 classes.

    Args:
        shape: ``(H, W)`` in pixels (unused by the layers; kept so that every classifier is built alike).
        channels: ``C``. num_classes: outputs.
        stem: ``"cifar"`` or ``"imagenet"``.

    Raises:
        ValueError: an unknown ``stem``.
    """

    def __init__(self, shape: tuple[int, int], channels: int, num_classes: int, stem: str = "cifar") -> None:
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {', '.join(STEMS)}, got {stem!r}")
        net = resnet18(weights=None, num_classes=num_classes)
        if stem == "cifar":
            conv, maxpool = nn.Conv2d(channels, 64, 3, padding=1, bias=False), nn.Identity()
        else:
            conv, maxpool = nn.Conv2d(channels, 64, 7, stride=2, padding=3, bias=False), net.maxpool
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        super().__init__(OrderedDict(
            stem=nn.Sequential(conv, net.bn1, net.relu, maxpool),
            layer1=net.layer1, layer2=net.layer2, layer3=net.layer3, layer4=net.layer4,
            pool=nn.Sequential(net.avgpool, nn.Flatten()),
            fc=net.fc,
        ))
