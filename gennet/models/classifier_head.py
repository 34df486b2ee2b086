"""The classifier head of Zarka et al.'s networks: BatchNorm → spatial average pooling → MLP or linear (DESIGN §7)."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["HEADS", "ClassifierHead"]

#: ``head`` values.
HEADS = ("mlp", "linear")


class ClassifierHead(nn.Module):
    """``(B, C, h, w)`` feature maps → ``(B, num_classes)`` logits.

    ``BatchNorm2d(C)`` → ``AvgPool2d(k, stride)`` with ``k = min(pool_size, h, w)`` (the window shrinks
    for maps smaller than ``pool_size``, e.g. small images at large ``J``) → flatten → the classifier:
    ``"mlp"``: ``Dropout → Linear(·, hidden) → ReLU → Dropout → Linear(hidden, hidden) → ReLU →
    Linear(hidden, num_classes)`` (AlexNet's classifier, two hidden layers); ``"linear"``: one ``Linear``.

    Source: Zarka, Thiry, Angles & Mallat, "Deep network classification by scattering and dictionary
    learning", ICLR 2020, §4 (BatchNorm, 5×5 average pooling, 2×4096 MLP with dropout); Krizhevsky et al.
    2012 (the MLP).

    Args:
        in_channels: ``C``.
        in_size: ``(h, w)`` of the feature maps, pixels of the coarse grid.
        num_classes: outputs.
        head: ``"mlp"`` or ``"linear"``.
        hidden: width of the MLP's hidden layers.
        dropout: dropout probability before each hidden layer (MLP only).
        pool_size: side of the average-pooling window (1 = no pooling).
        pool_stride: its stride.

    Raises:
        ValueError: an unknown ``head``, or a size / count < 1, or ``dropout`` outside [0, 1).
    """

    def __init__(
        self,
        in_channels: int,
        in_size: tuple[int, int],
        num_classes: int,
        head: str = "mlp",
        hidden: int = 4096,
        dropout: float = 0.3,
        pool_size: int = 5,
        pool_stride: int = 1,
    ) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head must be 'mlp' or 'linear', got {head!r}")
        for name, value in dict(in_channels=in_channels, num_classes=num_classes, hidden=hidden,
                                pool_size=pool_size, pool_stride=pool_stride, h=in_size[0], w=in_size[1]).items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        h, w = in_size
        kernel = (min(pool_size, h), min(pool_size, w))
        self.norm = nn.BatchNorm2d(in_channels)
        self.pool = nn.AvgPool2d(kernel, stride=pool_stride)
        features = in_channels * ((h - kernel[0]) // pool_stride + 1) * ((w - kernel[1]) // pool_stride + 1)
        self.in_features = features
        if head == "linear":
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(features, num_classes))
        else:
            self.classifier = nn.Sequential(
                nn.Flatten(),
                nn.Dropout(dropout),
                nn.Linear(features, hidden),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(hidden, hidden),
                nn.ReLU(inplace=True),
                nn.Linear(hidden, num_classes),
            )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.pool(self.norm(x)))
