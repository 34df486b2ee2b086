"""Frequency views of a dataset (DESIGN §15): ``data.frequency_filter`` and ``data.frequency_flip``.

- ``frequency_filter="low:R"`` / ``"high:R"``: the training and validation images are replaced by their
  low-frequency part ``x_l`` (``‖k‖ < R``) or their high-frequency part ``x_h`` (:func:`gennet.analysis.radial_split`);
  the test images stay the originals — the protocol of Wang et al. (CVPR 2020, Table 1): train on ``x_l`` or
  ``x_h``, test on ``x``.
- ``frequency_flip=true``: every split (train, val and test) is flipped in the DCT domain
  (:func:`gennet.transforms.dct.dct_flip`) — the "flipped" datasets of Ortiz-Jiménez et al. (NeurIPS 2020, §3.2),
  where the network is trained and tested on flipped images.

Items keep their type: ``(image, label)`` with the image float32 ``(C, H, W)``. Filtered and flipped images are
no longer confined to [−1, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.data import Dataset

from gennet.analysis.frequency import BANDS, band_pass
from gennet.errors import ConfigError
from gennet.transforms.dct import dct_flip

__all__ = ["FrequencyView", "parse_frequency_filter", "frequency_views"]


def parse_frequency_filter(spec: str | None) -> tuple[str, float] | None:
    """``"low:4"`` → ``("low", 4.0)``; ``None`` → ``None``.

    Raises:
        ConfigError: ``data.frequency_filter`` not ``low:R`` / ``high:R`` with a number ``R > 0``.
    """
    if spec is None:
        return None
    band, _, radius = str(spec).partition(":")
    try:
        r = float(radius)
    except ValueError:
        r = float("nan")
    if band not in BANDS or not r > 0 or r == float("inf"):
        raise ConfigError("data.frequency_filter", f"expected low:R or high:R with a radius R > 0 (e.g. low:4), got {spec!r}")
    return band, r


class FrequencyView(Dataset):
    """``(transform(image), label)`` for every item ``(image, label)`` of ``dataset`` (computed per item)."""

    def __init__(self, dataset: Dataset, transform: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.dataset, self.transform = dataset, transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        image, label = self.dataset[index]
        return self.transform(image), label


def frequency_views(splits: tuple[Dataset, Dataset, Dataset], frequency_filter: str | None,
                    frequency_flip: bool) -> tuple[Dataset, Dataset, Dataset]:
    """``(train, val, test)`` with the filter on train and val, the flip on all three (see the module docstring)."""
    train, val, test = splits
    parsed = parse_frequency_filter(frequency_filter)
    if parsed is not None:
        band, r = parsed

        def keep(image: torch.Tensor) -> torch.Tensor:
            return band_pass(image, band, r)

        train, val = FrequencyView(train, keep), FrequencyView(val, keep)
    if frequency_flip:
        train, val, test = (FrequencyView(d, dct_flip) for d in (train, val, test))
    return train, val, test
