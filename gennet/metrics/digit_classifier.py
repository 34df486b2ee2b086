"""A small digit classifier whose penultimate layer is the feature space of gennet's offline sample-quality measures.

Inception-v3 features (FID, Heusel et al. 2017) need a download and mean little on 32×32 digits. The
standard alternative for MNIST-like data is the feature space of a classifier trained on the same
domain; here a 5-layer CNN trained on the 4,000 training digits of
:class:`~gennet.data.MNIST5kDataModule` (``seed=0``) only, by
``python -m gennet.cli.train_digit_classifier``. Its weights ship with the package
(``digit_classifier.pt``, ~280 KB of float16, loads with ``weights_only=True``) beside ``digit_classifier.json``,
which records the test accuracy on the 500 test digits, the seed, the data it saw and the training recipe.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor, nn

from ..files import save_torch_atomic

__all__ = ["DigitClassifier", "WEIGHTS_PATH", "METADATA_PATH", "load_digit_classifier", "round_to_stored", "save_digit_classifier", "digit_classifier_metadata"]

WEIGHTS_PATH = Path(__file__).with_name("digit_classifier.pt")  #: the shipped state_dict (float32 tensors only)
METADATA_PATH = Path(__file__).with_name("digit_classifier.json")  #: test accuracy, seed, data, recipe
_FORMAT = "gennet.digit_classifier/1"


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class DigitClassifier(nn.Module):
    """``(B, 1, 32, 32)`` digits in [−1, 1] (background −1, as gennet's data modules give them) → logits ``(B, 10)``.

    Layers: [3×3 conv, BatchNorm, ReLU] with 16 channels, 2×2 max-pool (16²), 32 channels, max-pool (8²),
    64 and 64 channels, max-pool (4²), 128 channels, global average pool → :meth:`features` ``(B, 128)`` → dropout → linear
    to 10 classes. The features (non-negative, the penultimate layer) are what
    :func:`~gennet.metrics.digit_sample_quality` compares.

    Raises:
        ValueError: from :meth:`features`, inputs that are not ``(B, 1, 32, 32)``.
    """

    input_shape = (1, 32, 32)
    num_features = 128
    num_classes = 10

    def __init__(self, dropout: float = 0.3) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv(1, 16), nn.MaxPool2d(2),  # 16²
            *_conv(16, 32), nn.MaxPool2d(2),  # 8²
            *_conv(32, 64), *_conv(64, 64), nn.MaxPool2d(2),  # 4²
            *_conv(64, self.num_features), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.num_features, self.num_classes))

    def features(self, x: Tensor) -> Tensor:
        """The penultimate layer: ``(B, 1, 32, 32)`` in [−1, 1] → ``(B, 128)`` in the input's float dtype."""
        if x.dim() != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"expected digits (B, 1, 32, 32) in [-1, 1], got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(B, 10)``."""
        return self.head(self.features(x))


def digit_classifier_metadata() -> dict:
    """The contents of ``digit_classifier.json`` (test accuracy, seed, data, recipe)."""
    return json.loads(METADATA_PATH.read_text())


def load_digit_classifier(device: torch.device | str = "cpu", path: str | Path | None = None) -> DigitClassifier:
    """The trained :class:`DigitClassifier` in eval mode on ``device``: the shipped weights (``path=None``) or a
    file written by ``python -m gennet.cli.train_digit_classifier`` (``torch.load(weights_only=True)``).

    Raises:
        ValueError: the file is not a gennet digit classifier (the path is named).
        FileNotFoundError: no file at ``path``.
    """
    path = WEIGHTS_PATH if path is None else Path(path)
    content = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(content, dict) or content.get("format") != _FORMAT:
        raise ValueError(f"'{path}' is not a gennet digit classifier")
    model = DigitClassifier()
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in content["state_dict"].items()})
    return model.to(device).eval()


def save_digit_classifier(model: DigitClassifier, path: str | Path) -> None:
    """Write ``model``'s weights as plain tensors (loads with ``weights_only=True``), floating-point ones in float16
    (half the size; :func:`load_digit_classifier` casts them back to float32: call :func:`round_to_stored`
    first so that what is measured is what is shipped)."""
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu().clone() for k, v in model.state_dict().items()}
    save_torch_atomic({"format": _FORMAT, "state_dict": state}, path)


@torch.no_grad()
def round_to_stored(model: DigitClassifier) -> DigitClassifier:
    """Round ``model``'s floating-point parameters and buffers to float16 precision in place (as stored); returns it."""
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            tensor.copy_(tensor.half().to(tensor.dtype))
    return model
