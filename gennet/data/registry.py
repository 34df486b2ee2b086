"""The data modules a checkpoint's data record may name (``checkpoint["gennet_data"]["_target_"]``,
:mod:`gennet.lit.data_record`, :mod:`gennet.registry`): nothing else is built from a file."""

from __future__ import annotations

from .. import data
from ..registry import Registry

__all__ = ["DATA_MODULES"]

#: A new data module is one more line here.
DATA_MODULES = Registry("data module", "gennet.data", [
    data.MNIST5kDataModule,
    data.CelebADataModule,
    data.ImageFolderDataModule,
    data.ImageNetDataModule,
    data.LSUNDataModule,
])
