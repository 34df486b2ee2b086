"""LSUN scenes (Yu, Seff, Zhang, Song, Funkhouser, Xiao, *LSUN: Construction of a large-scale image dataset
using deep learning with humans in the loop*, arXiv:1506.03365, 2015), read from LSUN's lmdb databases."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import lmdb
import numpy as np
import torch
from torch.utils.data import Subset
from torchvision.datasets import LSUNClass, VisionDataset

from gennet.data.base import ImageDataModule, Split, check_directory, image_transform
from gennet.errors import ConfigError, check_int

LAYOUT = "root/<category>_train_lmdb/ and root/<category>_val_lmdb/, each holding data.mdb"


def cache_dir() -> Path:
    """Where the lmdb key lists go: ``$XDG_CACHE_HOME/gennet/lsun`` (default ``~/.cache/gennet/lsun``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gennet" / "lsun"


_HANDLES: dict[tuple[int, int], lmdb.Environment] = {}  # this process's handles, by data.mdb's (device, inode)
_HANDLES_PID = os.getpid()


def open_lmdb(path: Path) -> lmdb.Environment:
    """This process's read-only handle on the lmdb database ``path`` (torchvision's settings), opened once.

    py-lmdb refuses to open the same database twice in one process, so all readers share one handle;
    a forked process (dataloader worker) closes the handles it inherited and opens its own, as LMDB
    requires. Raises ``ConfigError("data.root", …)`` if the database cannot be opened.
    """
    global _HANDLES_PID
    if _HANDLES_PID != os.getpid():
        for env in _HANDLES.values():
            env.close()
        _HANDLES.clear()
        _HANDLES_PID = os.getpid()
    data = (path / "data.mdb").stat()
    key = (data.st_dev, data.st_ino)
    if key not in _HANDLES:
        try:
            _HANDLES[key] = lmdb.open(
                str(path), max_readers=1, readonly=True, lock=False, readahead=False, meminit=False
            )
        except lmdb.Error as error:
            raise ConfigError("data.root", f"'{path}' is not a readable lmdb database: {error}") from None
    return _HANDLES[key]


def count_entries(path: Path) -> int:
    with open_lmdb(path).begin(write=False) as txn:
        return txn.stat()["entries"]


class LMDBKeys:
    """The keys of an lmdb database, packed: ``blob`` (uint8, all keys end to end) and ``ends`` (int64 end
    offsets). No Python object per key (bedroom_train has 3M), so dataloader workers share the pages."""

    def __init__(self, blob: np.ndarray, ends: np.ndarray) -> None:
        self.blob, self.ends = blob, ends

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: int) -> bytes:
        index = range(len(self))[index]  # bounds check, negative indices
        return self.blob[(self.ends[index - 1] if index else 0) : self.ends[index]].tobytes()


def read_keys(path: Path) -> LMDBKeys:
    """All keys of the lmdb database ``path``, in lmdb's (sorted) order.

    Listing them walks the whole database (minutes for the 3M images of bedroom_train), so they are
    cached in :func:`cache_dir` as ``<name>-<digest>.npz``, the digest covering the resolved path, size
    and mtime of ``data.mdb`` (a changed database gets a new file). An unwritable cache is skipped.
    """
    data = (path / "data.mdb").stat()
    digest = hashlib.sha1(f"{path.resolve()}:{data.st_size}:{data.st_mtime_ns}".encode()).hexdigest()[:16]
    cache = cache_dir() / f"{path.name}-{digest}.npz"
    try:
        with np.load(cache, allow_pickle=False) as arrays:
            keys = LMDBKeys(arrays["blob"], arrays["ends"])
        if len(keys) == count_entries(path):
            return keys
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):  # absent or damaged: list the keys again
        pass
    with open_lmdb(path).begin(write=False) as txn:
        listed = list(txn.cursor().iternext(keys=True, values=False))
    blob = np.frombuffer(b"".join(listed), dtype=np.uint8)
    ends = np.cumsum([len(key) for key in listed], dtype=np.int64)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.stem}.{os.getpid()}.partial.npz")
        np.savez(partial, blob=blob, ends=ends)
        os.replace(partial, cache)  # atomic: concurrent runs never read half a file
    except OSError:
        pass
    return LMDBKeys(blob, ends)


class LSUNDatabase(LSUNClass):
    """One LSUN lmdb database as ``(transform(image), label)``, ``label`` int64 0.

    torchvision's :class:`~torchvision.datasets.LSUNClass` reads and decodes the images (its
    ``__getitem__``: ``Image.open(value).convert("RGB")``, then ``transform``); only its constructor is
    replaced, which would pickle the key list into ``_cache_<letters of the path>`` in the *current
    working directory* (and trust any such file found there) and open a handle of its own. Here the keys
    come from :func:`read_keys` (cached under :func:`cache_dir`) and ``env`` is this process's shared
    handle (:func:`open_lmdb`), so the dataset pickles (spawned workers) and forked workers reopen it.
    """

    def __init__(self, root: Path, transform: Callable | None = None) -> None:
        VisionDataset.__init__(self, str(root), transform=transform)  # not LSUNClass.__init__: see above
        self.path = Path(root)
        self.keys = read_keys(self.path)
        self.length = len(self.keys)

    @property
    def env(self) -> lmdb.Environment:
        return open_lmdb(self.path)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, _ = super().__getitem__(index)
        return image, torch.tensor(0, dtype=torch.int64)


class LSUNDataModule(ImageDataModule):
    """One LSUN scene category (default ``bedroom``), RGB, from LSUN's lmdb databases.

    Source: Yu, Seff, Zhang, Song, Funkhouser, Xiao, *LSUN: Construction of a large-scale image dataset
    using deep learning with humans in the loop*, arXiv:1506.03365, 2015 (bedroom: 3,033,042 training
    images, 300 validation images; smaller side resized to 256).

    Reads LSUN's official layout under ``root`` (as unpacked from ``<category>_train_lmdb.zip`` …)::

        root/<category>_train_lmdb/data.mdb, lock.mdb    values: encoded images (WEBP or JPEG bytes)
        root/<category>_val_lmdb/data.mdb, lock.mdb      keys: 40-character hex strings (any bytes work)

    Images are decoded by torchvision's ``LSUNClass`` (see :class:`LSUNDatabase`: the key list is cached in
    ``~/.cache/gennet/lsun`` — ``$XDG_CACHE_HOME`` — instead of torchvision's ``_cache_*`` file in the
    working directory; one lmdb handle per database and process, reopened in dataloader workers).
    Any category name works, not only the ten scenes of torchvision's ``LSUN``.

    Splits: train is ``<category>_train``. LSUN has no public labeled test set, so ``<category>_val`` is
    split in two halves in lmdb key order (sorted keys): the first ``N // 2`` images are the validation
    set, the other ``N - N // 2`` the test set (150 + 150 for the 300 validation images of a category).

    Transform (torchvision): RGB, resize the shorter side to ``image_size`` and center-crop (the largest
    centered square), map to [-1, 1]. Items are ``(image, label)``: ``image`` float32
    ``(3, image_size, image_size)``, ``label`` int64 0 (``num_classes = 1``).

    Args:
        root: directory holding the ``<category>_{train,val}_lmdb`` directories.
        category: LSUN category, e.g. ``"bedroom"``, ``"church_outdoor"``.
        batch_size: images per batch (>= 1).
        image_size: output side (>= 8; 64 is the usual choice, LSUN's shorter side is 256).
        num_workers: dataloader workers (>= 0).
        seed: seeds the training shuffle (the split is fixed).

    Raises:
        ConfigError: ``"data.root"`` if ``root``, ``<category>_train_lmdb``, ``<category>_val_lmdb`` or their
            ``data.mdb`` is missing (the message names the path), a database cannot be opened, the training
            database is empty or the validation database has fewer than 2 images;
            ``"data.category"`` if not a non-empty name; ``"data.image_size"`` if < 8;
            ``"data.batch_size"`` / ``"data.num_workers"`` as in :class:`~gennet.data.base.ImageDataModule`.
    """

    num_channels = 3
    num_classes = 1

    def __init__(
        self,
        root: str | os.PathLike,
        category: str = "bedroom",
        batch_size: int = 64,
        image_size: int = 64,
        num_workers: int = 4,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size, image_size, num_workers, seed)
        self.save_hyperparameters(logger=False)
        check_int("data.image_size", image_size, 8)
        if not isinstance(category, str) or not category.strip() or "/" in category or os.sep in category:
            message = f"expected an LSUN category name such as 'bedroom' or 'church_outdoor', got {category!r}"
            raise ConfigError("data.category", message)
        self.category = category
        layout = f" (expected LSUN's layout: {LAYOUT})"
        self.root = check_directory(root, layout)
        self.lmdb_dirs: dict[str, Path] = {}
        sizes = {}
        for split in ("train", "val"):
            path = check_directory(self.root / f"{category}_{split}_lmdb", layout)
            if not (path / "data.mdb").is_file():
                raise ConfigError("data.root", f"'{path / 'data.mdb'}' does not exist{layout}")
            self.lmdb_dirs[split], sizes[split] = path, count_entries(path)
        if sizes["train"] < 1 or sizes["val"] < 2:
            raise ConfigError(
                "data.root",
                f"'{self.lmdb_dirs['train']}' holds {sizes['train']} image(s) and '{self.lmdb_dirs['val']}' "
                f"{sizes['val']}: need at least 1 training and 2 validation images (val and test halves)",
            )
        n_val = sizes["val"]
        self.split_sizes = {"train": sizes["train"], "val": n_val // 2, "test": n_val - n_val // 2}

    def make_datasets(self) -> Split:
        transform = image_transform(self.image_size, self.num_channels)
        train = LSUNDatabase(self.lmdb_dirs["train"], transform)
        val = LSUNDatabase(self.lmdb_dirs["val"], transform)  # one database (one lmdb handle) for both halves
        half = len(val) // 2
        return train, Subset(val, range(half)), Subset(val, range(half, len(val)))
