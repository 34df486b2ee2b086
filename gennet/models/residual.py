"""ResNet pieces shared by the hybrid networks: stages of torchvision's ``BasicBlock`` and torchvision's initialization."""

from __future__ import annotations

from torch import nn
from torchvision.models.resnet import BasicBlock

__all__ = ["residual_stage", "init_resnet_"]


def residual_stage(in_channels: int, width: int, blocks: int, stride: int) -> nn.Sequential:
    """``blocks`` torchvision ``BasicBlock``s at ``width`` channels, ``(B, in_channels, h, w)`` →
    ``(B, width, h/stride, w/stride)``; the first block has ``stride`` and, when the shape changes, a 1×1
    convolution + BatchNorm on its shortcut (He, Zhang, Ren & Sun, CVPR 2016, §3.3 option B)."""
    downsample = None
    if stride != 1 or in_channels != width:
        downsample = nn.Sequential(nn.Conv2d(in_channels, width, 1, stride=stride, bias=False), nn.BatchNorm2d(width))
    layers = [BasicBlock(in_channels, width, stride, downsample)]
    layers += [BasicBlock(width, width) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def init_resnet_(network: nn.Module) -> None:
    """torchvision's ResNet initialization, in place: Kaiming-normal convolutions (fan-out, ReLU), affine
    BatchNorm weights 1 and biases 0, linear layers left at PyTorch's default."""
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and module.affine:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
