"""ImageNetDataModule on an ImageNet folder layout built from real photographs (``imagenet_root``, see conftest)."""

from __future__ import annotations

import shutil

import pytest
import torch
from PIL import Image

from gennet.data import ImageNetDataModule
from gennet.data.imagenet import imagenet_transforms
from gennet.errors import ConfigError


def test_classes_labels_and_splits(imagenet_root):
    dm = ImageNetDataModule(imagenet_root, batch_size=4, image_size=64, num_workers=0)
    assert dm.classes == sorted(p.name for p in (imagenet_root / "train").iterdir() if p.is_dir())
    assert dm.num_classes == 7
    dm.setup()
    assert len(dm.train_dataset) == 42 and len(dm.val_dataset) == 14 and dm.test_dataset is dm.val_dataset
    for dataset in (dm.train_dataset, dm.val_dataset):
        for path, label in dataset.samples:
            assert path.split("/")[-2] == dm.classes[label]
    image, label = dm.train_dataset[0]
    assert image.shape == (3, 64, 64) and image.dtype == torch.float32 and label.dtype == torch.int64
    assert -1 <= image.min() < image.max() <= 1
    x, y = next(iter(dm.val_dataloader()))
    assert x.shape == (4, 3, 64, 64) and y.dtype == torch.int64


def test_training_crops_are_random_and_evaluation_is_the_resize_center_crop(imagenet_root):
    dm = ImageNetDataModule(imagenet_root, image_size=64, num_workers=0)
    dm.setup()
    torch.manual_seed(0)
    a = dm.train_dataset[5][0]
    torch.manual_seed(1)
    assert not torch.equal(a, dm.train_dataset[5][0])
    assert torch.equal(dm.val_dataset[2][0], dm.val_dataset[2][0])
    # evaluation: shorter side to round(64 * 256/224) = 73, then the central 64×64 (PIL reference)
    path = dm.val_dataset.samples[2][0]
    image = Image.open(path).convert("RGB")
    w, h = image.size
    scale = 73 / min(w, h)
    size = (73, round(h * scale)) if w <= h else (round(w * scale), 73)
    resized = torch.tensor(list(image.resize(size, Image.Resampling.BILINEAR).getdata()), dtype=torch.float32)
    resized = resized.reshape(size[1], size[0], 3).permute(2, 0, 1) / 127.5 - 1
    top, left = round((size[1] - 64) / 2), round((size[0] - 64) / 2)  # torchvision rounds half to even
    reference = resized[:, top : top + 64, left : left + 64]
    assert (dm.val_dataset[2][0] - reference).abs().mean() < 2e-3  # uint8 rounding of the resize
    train, evaluation = imagenet_transforms(224)
    assert any(getattr(t, "size", None) == [256] for t in evaluation.transforms)


def test_bad_layouts_name_the_folder(imagenet_root, tmp_path):
    with pytest.raises(ConfigError, match="does not exist") as info:
        ImageNetDataModule(tmp_path / "nowhere")
    assert info.value.key == "data.root"
    only_train = tmp_path / "only_train"
    shutil.copytree(imagenet_root / "train", only_train / "train")
    with pytest.raises(ConfigError, match=r"only_train/val"):
        ImageNetDataModule(only_train)
    extra = tmp_path / "extra"
    shutil.copytree(imagenet_root, extra)
    shutil.copytree(extra / "val" / "coins", extra / "val" / "zebra")
    with pytest.raises(ConfigError, match="zebra"):
        ImageNetDataModule(extra)
    empty = tmp_path / "empty"
    for split in ("train", "val"):
        (empty / split / "cat").mkdir(parents=True)
    dm = ImageNetDataModule(empty, num_workers=0)
    with pytest.raises(ConfigError, match="contains no images"):
        dm.setup()
    with pytest.raises(ConfigError, match="image_size"):
        ImageNetDataModule(imagenet_root, image_size=4)


def test_validation_without_some_classes_keeps_training_labels(imagenet_root, tmp_path):
    root = tmp_path / "partial"
    shutil.copytree(imagenet_root, root)
    shutil.rmtree(root / "val" / "astronaut")
    dm = ImageNetDataModule(root, num_workers=0)
    dm.setup()
    labels = {label.item() if hasattr(label, "item") else label for _, label in dm.val_dataset.samples}
    assert dm.classes.index("astronaut") not in labels and len(labels) == 6
    assert dm.val_dataset[0][1] == dm.classes.index(dm.val_dataset.samples[0][0].split("/")[-2])
