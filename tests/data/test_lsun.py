"""LSUN on real photographs (``lsun_root``: 24 + 8 WEBP/JPEG crops of scikit-image photographs in
LSUN's lmdb layout, see tests/data/lsun_layout.py)."""

from __future__ import annotations

import io
import pickle
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from gennet.data import LSUNDataModule, image_transform
from gennet.data.lsun import cache_dir
from gennet.errors import ConfigError
from tests.data.lsun_layout import lsun_layout, lsun_root  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    """Key caches go to a fresh temporary directory, not ~/.cache; the tests run in an empty cwd."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path / "cache"


def test_batches(lsun_root):
    dm = LSUNDataModule(lsun_root, batch_size=8, num_workers=0)
    assert dm.image_shape == (3, 64, 64) and dm.num_classes == 1
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        images, labels = next(iter(loader))
        assert images.dtype == torch.float32 and images.shape[1:] == (3, 64, 64)
        assert labels.dtype == torch.int64 and (labels == 0).all()
        assert images.min() >= -1 and images.max() <= 1 and images.min() < -0.5 and images.max() > 0.5
    assert len(list(dm.train_dataloader())) == 24 // 8 and dm.train_dataloader().drop_last


def test_splits_follow_key_order(lsun_layout):
    """train = bedroom_train; val / test = first / second half of bedroom_val in (sorted) key order; each
    item is the written image through the transform (independent reference: the written bytes + PIL)."""
    lsun_root, written = lsun_layout
    dm = LSUNDataModule(lsun_root, image_size=32)
    dm.setup()
    assert [len(d) for d in (dm.train_dataset, dm.val_dataset, dm.test_dataset)] == [24, 4, 4]
    assert dm.split_sizes == {"train": 24, "val": 4, "test": 4}
    transform = image_transform(32, 3)
    train_values, val_values = ([value for _, value in sorted(written[split].items())] for split in ("train", "val"))
    expected = {"train": train_values, "val": val_values[:4], "test": val_values[4:]}
    for split, dataset in zip(expected, (dm.train_dataset, dm.val_dataset, dm.test_dataset)):
        for i, value in enumerate(expected[split]):
            image, label = dataset[i]
            reference = transform(Image.open(io.BytesIO(value)).convert("RGB"))
            assert image.shape == (3, 32, 32) and torch.equal(image, reference), (split, i)
            assert label.dtype == torch.int64 and label.item() == 0


def test_deterministic_and_grayscale_becomes_rgb(lsun_root):
    first, second = LSUNDataModule(lsun_root, image_size=16), LSUNDataModule(lsun_root, image_size=16)
    first.setup(), second.setup()
    for a, b in ((first.train_dataset, second.train_dataset), (first.test_dataset, second.test_dataset)):
        assert all(torch.equal(a[i][0], b[i][0]) for i in range(len(a)))
    gray = [x for x, _ in first.train_dataset if torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])]
    assert 1 <= len(gray) < 24  # the grayscale JPEGs: three equal channels


def test_no_cache_file_in_cwd_keys_cached(lsun_root, cache_home, tmp_path):
    dm = LSUNDataModule(lsun_root)
    dm.setup()
    assert not list((tmp_path / "cwd").iterdir())  # torchvision's LSUNClass would write _cache_* here
    assert cache_dir() == cache_home / "gennet" / "lsun"
    caches = sorted(cache_dir().iterdir())
    assert [p.name.split("-")[0] for p in caches] == ["bedroom_train_lmdb", "bedroom_val_lmdb"]
    assert all(p.suffix == ".npz" for p in caches)
    keys = [dm.val_dataset.dataset.keys[i] for i in range(8)]
    assert keys == sorted(keys) and all(len(key) == 40 for key in keys)
    # the next module reads the cache: a cache listing the keys in reverse order is followed
    blob = np.frombuffer(b"".join(reversed(keys)), dtype=np.uint8)
    np.savez(caches[1], blob=blob, ends=np.cumsum([len(key) for key in reversed(keys)]))
    again = LSUNDataModule(lsun_root)
    again.setup()
    assert [again.val_dataset.dataset.keys[i] for i in range(8)] == keys[::-1]
    assert torch.equal(again.test_dataset[3][0], dm.val_dataset[0][0])


def test_workers_and_pickling(lsun_root):
    """The lmdb handle is per process: forked workers and a pickled copy (spawned workers) read images."""
    dm = LSUNDataModule(lsun_root, batch_size=4, num_workers=2)
    dm.setup()
    reference = torch.stack([dm.val_dataset[i][0] for i in range(4)])  # opens the handle in this process first
    images, _ = next(iter(dm.val_dataloader()))
    assert torch.equal(images, reference)
    copy = pickle.loads(pickle.dumps(dm.test_dataset))
    assert torch.equal(copy[1][0], dm.test_dataset[1][0])


def test_missing_root_is_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as info:
        LSUNDataModule(missing)
    assert info.value.key == "data.root" and str(missing) in info.value.message


def test_missing_val_lmdb_is_named(lsun_root, tmp_path):
    root = tmp_path / "lsun"
    shutil.copytree(lsun_root / "bedroom_train_lmdb", root / "bedroom_train_lmdb")
    with pytest.raises(ConfigError) as info:
        LSUNDataModule(root)
    assert info.value.key == "data.root" and str(root / "bedroom_val_lmdb") in info.value.message


def test_other_category_and_missing_database_named(lsun_root, tmp_path):
    with pytest.raises(ConfigError) as info:
        LSUNDataModule(lsun_root, category="kitchen")
    assert info.value.key == "data.root" and str(lsun_root / "kitchen_train_lmdb") in info.value.message
    root = tmp_path / "lsun"
    shutil.copytree(lsun_root, root)
    (root / "bedroom_val_lmdb" / "data.mdb").unlink()
    with pytest.raises(ConfigError) as info:
        LSUNDataModule(root)
    assert info.value.key == "data.root" and str(root / "bedroom_val_lmdb" / "data.mdb") in info.value.message


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"image_size": 4}, "data.image_size"),
        ({"category": ""}, "data.category"),
        ({"category": 3}, "data.category"),
        ({"batch_size": 0}, "data.batch_size"),
    ],
)
def test_bad_values_rejected(lsun_root, kwargs, key):
    with pytest.raises(ConfigError) as info:
        LSUNDataModule(lsun_root, **kwargs)
    assert info.value.key == key
