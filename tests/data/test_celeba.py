"""CelebA on real faces (``celeba_root``: 100 LFW faces in CelebA's aligned layout, see conftest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from gennet.data import CelebADataModule
from gennet.errors import ConfigError


def partition_lines(root: Path) -> list[tuple[str, int]]:
    lines = (root / "celeba" / "list_eval_partition.txt").read_text().split("\n")
    return [(name, int(code)) for name, code in (line.split() for line in lines if line)]


def test_fallback_batches(celeba_root):
    dm = CelebADataModule(celeba_root, batch_size=16, num_workers=0)
    assert dm.image_shape == (3, 64, 64)
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        images, labels = next(iter(loader))
        assert images.dtype == torch.float32 and images.shape[1:] == (3, 64, 64)
        assert labels.dtype == torch.int64 and (labels == 0).all()
        assert images.min() >= -1 and images.max() <= 1 and images.min() < -0.5 and images.max() > 0.5
    assert dm.data_source == "partition file"  # only images + partition file: torchvision's CelebA refuses it
    assert len(list(dm.train_dataloader())) == 80 // 16 and dm.train_dataloader().drop_last


def test_fallback_splits_follow_partition_file(celeba_root):
    dm = CelebADataModule(celeba_root, image_size=32)
    dm.setup()
    lines = partition_lines(celeba_root)
    for code, dataset in enumerate((dm.train_dataset, dm.val_dataset, dm.test_dataset)):
        assert [p.name for p in dataset.paths] == [name for name, c in lines if c == code]
    assert [len(d) for d in (dm.train_dataset, dm.val_dataset, dm.test_dataset)] == [80, 10, 10]


def test_center_crop_then_resize(celeba_root):
    """Independent reference: PIL crops rows 20..198 of the 178×218 image and resizes with a box filter."""
    dm = CelebADataModule(celeba_root, image_size=32)
    dm.setup()
    image, _ = dm.test_dataset[0]
    with Image.open(dm.test_dataset.paths[0]) as pil:
        reference = pil.convert("RGB").crop((0, 20, 178, 198)).resize((32, 32), Image.Resampling.BOX)
    reference = torch.from_numpy(np.asarray(reference, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)
    assert image.shape == (3, 32, 32)
    assert (image - reference).abs().mean() < 0.03
    shifted = reference.roll(4, dims=1)  # a crop 4 pixels (of 32) off is clearly worse
    assert (image - shifted).abs().mean() > 2 * (image - reference).abs().mean()


def _official_layout(source: Path, destination: Path) -> Path:
    """Copy ``source`` and add CelebA's four annotation files, in their official formats."""
    shutil.copytree(source, destination)
    names = [name for name, _ in partition_lines(destination)]
    folder = destination / "celeba"

    def write(filename: str, header: list[str] | None, values) -> None:
        lines = [] if header is None else [str(len(names)), " ".join(header)]
        lines += [f"{name} {' '.join(map(str, values(i)))}" for i, name in enumerate(names)]
        (folder / filename).write_text("\n".join(lines) + "\n")

    landmarks = ["lefteye", "righteye", "nose", "leftmouth", "rightmouth"]
    write("list_attr_celeba.txt", [f"Attr_{k}" for k in range(40)], lambda i: [(-1) ** (i + k) for k in range(40)])
    write("identity_CelebA.txt", None, lambda i: [i // 3 + 1])
    write("list_bbox_celeba.txt", ["image_id", "x_1", "y_1", "width", "height"], lambda i: [10, 20, 100, 120])
    write(
        "list_landmarks_align_celeba.txt",
        [f"{part}_{xy}" for part in landmarks for xy in "xy"],
        lambda i: [69, 109, 106, 113, 77, 142, 73, 152, 108, 154],
    )
    return destination


def test_torchvision_reader_on_official_layout(celeba_root, tmp_path, monkeypatch):
    """The torchvision path. torchvision's CelebA checks MD5 sums that only the real annotation files
    match, so this test writes annotation files in the official format and monkeypatches
    torchvision's ``check_integrity`` to check presence only; it then checks that gennet reads the
    layout through ``torchvision.datasets.CelebA`` and gets the same splits and images as the fallback."""
    root = _official_layout(celeba_root, tmp_path / "official")
    fallback = CelebADataModule(root, image_size=32)
    fallback.setup()
    assert fallback.data_source == "partition file"  # our annotation files fail the MD5 check

    presence_only = lambda path, md5=None: Path(path).is_file()  # noqa: E731
    monkeypatch.setattr(torchvision.datasets.celeba, "check_integrity", presence_only)
    dm = CelebADataModule(root, image_size=32)
    dm.setup()
    assert dm.data_source == "torchvision"
    for ours, theirs, split in zip(
        (dm.train_dataset, dm.val_dataset, dm.test_dataset),
        (fallback.train_dataset, fallback.val_dataset, fallback.test_dataset),
        ("train", "valid", "test"),
    ):
        assert isinstance(ours.dataset, torchvision.datasets.CelebA) and ours.dataset.split == split
        assert len(ours) == len(theirs)
        assert ours.dataset.filename == [p.name for p in theirs.paths]
        image, label = ours[len(ours) - 1]
        assert torch.equal(image, theirs[len(theirs) - 1][0])
        assert label.dtype == torch.int64 and label == 0
    images, labels = next(iter(dm.val_dataloader()))
    assert images.shape == (10, 3, 32, 32) and labels.dtype == torch.int64


def test_missing_root_names_path(tmp_path):
    with pytest.raises(ConfigError) as error:
        CelebADataModule(tmp_path / "nowhere")
    assert error.value.key == "data.root" and str(tmp_path / "nowhere") in error.value.message


def test_missing_image_folder(tmp_path):
    with pytest.raises(ConfigError) as error:
        CelebADataModule(tmp_path)
    assert error.value.key == "data.root"
    assert str(tmp_path / "celeba" / "img_align_celeba") in error.value.message
    assert "aligned layout" in error.value.message


def test_missing_partition_file(tmp_path):
    (tmp_path / "celeba" / "img_align_celeba").mkdir(parents=True)
    with pytest.raises(ConfigError) as error:
        CelebADataModule(tmp_path)
    assert error.value.key == "data.root" and "list_eval_partition.txt" in error.value.message


def test_partition_lists_missing_images(celeba_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(celeba_root, root)
    (root / "celeba" / "img_align_celeba" / "000042.jpg").unlink()
    with pytest.raises(ConfigError) as error:
        CelebADataModule(root)
    assert error.value.key == "data.root" and "000042.jpg" in error.value.message


def test_malformed_partition_file(tmp_path):
    (tmp_path / "celeba" / "img_align_celeba").mkdir(parents=True)
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg train\n")
    with pytest.raises(ConfigError) as error:
        CelebADataModule(tmp_path)
    assert error.value.key == "data.root" and "line 2" in error.value.message
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text("000001.jpg 1\n000002.jpg 2\n")
    with pytest.raises(ConfigError) as error:
        CelebADataModule(tmp_path)
    assert error.value.key == "data.root" and "no training image" in error.value.message


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"batch_size": 0}, "data.batch_size"),
        ({"image_size": 0}, "data.image_size"),
        ({"image_size": 256}, "data.image_size"),
        ({"num_workers": -2}, "data.num_workers"),
    ],
)
def test_config_errors(celeba_root, kwargs, key):
    with pytest.raises(ConfigError) as error:
        CelebADataModule(celeba_root, **kwargs)
    assert error.value.key == key and str(error.value).startswith(f"{key}: ")
