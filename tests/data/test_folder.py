"""ImageFolderDataModule on real photographs and faces (``image_folder_root``, see conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gennet.data import ImageFolderDataModule
from gennet.errors import ConfigError

EXPECTED = (  # what conftest writes, relative to the root; README.txt is not an image
    ["photos/camera.png", "photos/astronaut.png", "photos/coffee.jpg", "photos/cats/chelsea.JPG"]
    + [f"faces/lfw_{i:03d}.jpg" for i in range(8)]
    + [f"faces/more/lfw_{i:03d}{('.png', '.jpeg')[i % 2]}" for i in range(8, 16)]
)


def all_files(dm: ImageFolderDataModule) -> list[Path]:
    return [p for split in ("train", "val", "test") for p in dm.split_files[split]]


def test_finds_every_image_recursively(image_folder_root):
    dm = ImageFolderDataModule(image_folder_root)
    found = sorted(p.relative_to(image_folder_root).as_posix() for p in all_files(dm))
    assert found == sorted(EXPECTED)
    assert {len(dm.split_files[s]) for s in ("val", "test")} == {1} and len(dm.split_files["train"]) == 18


def test_split_fractions_and_determinism(image_folder_root):
    a = ImageFolderDataModule(image_folder_root, val_fraction=0.2, test_fraction=0.1, seed=3)
    b = ImageFolderDataModule(image_folder_root, val_fraction=0.2, test_fraction=0.1, seed=3)
    c = ImageFolderDataModule(image_folder_root, val_fraction=0.2, test_fraction=0.1, seed=4)
    assert [len(a.split_files[s]) for s in ("train", "val", "test")] == [14, 4, 2]
    assert a.split_files == b.split_files and a.split_files != c.split_files
    assert len(set(all_files(a))) == 20  # disjoint
    no_test = ImageFolderDataModule(image_folder_root, test_fraction=0)
    assert len(no_test.split_files["test"]) == 0 and len(no_test.split_files["val"]) == 1


@pytest.mark.parametrize("channels", [3, 1])
def test_batches(image_folder_root, channels):
    dm = ImageFolderDataModule(image_folder_root, batch_size=6, image_size=24, num_workers=0, channels=channels)
    assert dm.num_channels == channels and dm.image_shape == (channels, 24, 24)
    batches = list(dm.train_dataloader())
    assert len(batches) == 18 // 6
    for images, labels in batches:
        assert images.shape == (6, channels, 24, 24) and images.dtype == torch.float32
        assert labels.dtype == torch.int64 and (labels == 0).all()
        assert images.min() >= -1 and images.max() <= 1
    everything = torch.cat([images for images, _ in batches])
    assert everything.min() < -0.8 and everything.max() > 0.8
    # the training order depends on the seed only
    again = ImageFolderDataModule(image_folder_root, batch_size=6, image_size=24, channels=channels)
    assert torch.equal(everything, torch.cat([images for images, _ in again.train_dataloader()]))
    images, _ = next(iter(dm.val_dataloader()))
    assert images.shape == (1, channels, 24, 24)


def test_grayscale_photograph_and_rgb_photograph(image_folder_root):
    """camera.png is grayscale: as RGB its three channels are equal; astronaut.png is in color."""
    dm = ImageFolderDataModule(image_folder_root, image_size=16, val_fraction=0, test_fraction=0)
    dm.setup()
    paths = [p.name for p in dm.train_dataset.paths]
    camera, _ = dm.train_dataset[paths.index("camera.png")]
    astronaut, _ = dm.train_dataset[paths.index("astronaut.png")]
    assert torch.equal(camera[0], camera[1]) and torch.equal(camera[1], camera[2])
    assert (astronaut[0] - astronaut[2]).abs().max() > 0.3


def test_class_subfolders(image_folder_root):
    dm = ImageFolderDataModule(image_folder_root, class_subfolders=True, val_fraction=0, test_fraction=0)
    assert dm.classes == ["faces", "photos"]
    dm.setup()
    for path, label in zip(dm.train_dataset.paths, dm.train_dataset.labels):
        assert label == dm.classes.index(path.relative_to(image_folder_root).parts[0])
    labels = torch.stack([dm.train_dataset[i][1] for i in range(len(dm.train_dataset))])
    assert labels.dtype == torch.int64 and labels.sum() == 4  # 4 photos, 16 faces


def test_class_subfolders_rejects_loose_images(image_folder_root):
    with pytest.raises(ConfigError) as error:
        ImageFolderDataModule(image_folder_root / "photos", class_subfolders=True)
    assert error.value.key == "data.root" and "subfolders" in error.value.message


def test_empty_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("no images here")
    with pytest.raises(ConfigError) as error:
        ImageFolderDataModule(tmp_path)
    assert error.value.key == "data.root" and str(tmp_path) in error.value.message
    assert "no images" in error.value.message


def test_too_few_images(image_folder_root):
    with pytest.raises(ConfigError) as error:
        ImageFolderDataModule(image_folder_root / "photos" / "cats")  # one image: no room for val and test
    assert error.value.key == "data.root" and "1 image" in error.value.message
    single = ImageFolderDataModule(image_folder_root / "photos" / "cats", val_fraction=0, test_fraction=0)
    assert len(single.split_files["train"]) == 1


def test_root_is_a_file(image_folder_root):
    with pytest.raises(ConfigError) as error:
        ImageFolderDataModule(image_folder_root / "README.txt")
    assert error.value.key == "data.root" and "not a directory" in error.value.message


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"root": "/does/not/exist"}, "data.root"),
        ({"batch_size": -1}, "data.batch_size"),
        ({"image_size": 0}, "data.image_size"),
        ({"num_workers": -1}, "data.num_workers"),
        ({"channels": 2}, "data.channels"),
        ({"val_fraction": 1.5}, "data.val_fraction"),
        ({"test_fraction": -0.1}, "data.test_fraction"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "data.test_fraction"),
    ],
)
def test_config_errors(image_folder_root, kwargs, key):
    kwargs = {"root": image_folder_root, **kwargs}
    with pytest.raises(ConfigError) as error:
        ImageFolderDataModule(**kwargs)
    assert error.value.key == key and str(error.value).startswith(f"{key}: ")


@pytest.fixture
def folder_with_a_corrupt_image(image_folder_root, tmp_path):
    import shutil

    root = tmp_path / "with_corrupt"
    shutil.copytree(image_folder_root, root)
    (root / "faces" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")  # a truncated, undecodable file
    return root


def test_an_unreadable_image_is_skipped_with_a_counted_warning(folder_with_a_corrupt_image):
    dm = ImageFolderDataModule(folder_with_a_corrupt_image, val_fraction=0, test_fraction=0.05)
    dm.setup()
    dataset = dm.train_dataset
    broken = next(i for i, p in enumerate(dataset.paths) if p.name == "broken.jpg")
    with pytest.warns(UserWarning, match=r"skipped unreadable image '.*broken\.jpg' \(1 skipped so far"):
        image, label = dataset[broken]
    assert image.shape == (3, 64, 64)
    torch.testing.assert_close(image, dataset[(broken + 1) % len(dataset)][0])  # the next image stands in
    assert dataset.skipped == 1


def test_on_corrupt_error_names_the_file(folder_with_a_corrupt_image):
    dm = ImageFolderDataModule(folder_with_a_corrupt_image, val_fraction=0, test_fraction=0.05, on_corrupt="error")
    dm.setup()
    broken = next(i for i, p in enumerate(dm.train_dataset.paths) if p.name == "broken.jpg")
    with pytest.raises(ConfigError, match=r"broken\.jpg") as info:
        dm.train_dataset[broken]
    assert info.value.key == "data.on_corrupt"
    with pytest.raises(ConfigError, match="on_corrupt"):
        ImageFolderDataModule(folder_with_a_corrupt_image, on_corrupt="ignore")


def test_on_corrupt_error_stops_train_py_with_one_line(folder_with_a_corrupt_image, tmp_path):
    from tests.cli.entrypoint import run_train

    args = ["data=folder", f"data.root={folder_with_a_corrupt_image}", "data.on_corrupt=error", "data.num_workers=1",
            "data.batch_size=4", "data.val_fraction=0", "data.test_fraction=0.05", "trainer.max_epochs=1", "logger=csv",
            "trainer.limit_val_batches=0"]
    result = run_train(args, tmp_path / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: data.on_corrupt: cannot read image") and "broken.jpg" in line
