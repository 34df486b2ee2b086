"""``scatnet``: scattering + classifier head, the baseline of Zarka et al. (DESIGN §7)."""

from __future__ import annotations

from torch import Tensor, nn

from .classifier_head import ClassifierHead
from .scattering_features import ScatteringFeatures

__all__ = ["ScatteringClassifier"]


class ScatteringClassifier(nn.Module):
    """``x ↦ head(standardize(S_J x))``: a fixed scattering transform and a trained classifier head.

    Input ``(B, C, H, W)`` float (images in [−1, 1] in gennet's data modules; the standardization makes
    the scale irrelevant); output logits ``(B, num_classes)``. ``features`` is a
    :class:`~gennet.models.scattering_features.ScatteringFeatures` (call ``features.fit_`` on training
    batches first), ``head`` a :class:`~gennet.models.classifier_head.ClassifierHead`.

    Source: Bruna & Mallat, TPAMI 2013 (scattering + linear classifier); Zarka et al., ICLR 2020,
    Table 1 ("Scat. + MLP" baseline; the same head as the sparse network).

    Args:
        shape: ``(H, W)``, pixels. channels: ``C``. num_classes: outputs.
        J, L, max_order, phases: of the scattering (``phases=None`` is kymatio's modulus scattering).
        head, hidden, dropout, pool_size, pool_stride: of the head.

    Raises:
        ValueError: bad scattering or head settings.
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
        head: str = "mlp",
        hidden: int = 4096,
        dropout: float = 0.3,
        pool_size: int = 5,
        pool_stride: int = 1,
    ) -> None:
        super().__init__()
        self.features = ScatteringFeatures(shape, channels, J, L, max_order, phases)
        self.head = ClassifierHead(
            self.features.out_channels, self.features.out_size, num_classes, head, hidden, dropout, pool_size, pool_stride
        )

    def stages(self) -> list[tuple[str, nn.Module]]:
        """``forward`` as modules applied in turn (for :mod:`gennet.analysis`): features, then the head's layers."""
        return [("features", self.features), ("head.norm", self.head.norm), ("head.pool", self.head.pool),
                ("head.classifier", self.head.classifier)]

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` → logits ``(B, num_classes)``."""
        return self.head(self.features(x))
