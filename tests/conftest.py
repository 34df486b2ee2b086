"""Session fixtures shared by the tests: dataset layouts built from real images that ship with
scikit-image (no download). Reused by the end-to-end tests of the entry points; keep them cheap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.layouts import lfw_faces, write_celeba


@pytest.fixture(scope="session")
def celeba_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CelebA aligned layout of 100 real faces (:func:`tests.layouts.write_celeba`). Returns ``root``."""
    return write_celeba(tmp_path_factory.mktemp("celeba_root"))


@pytest.fixture(scope="session")
def image_folder_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A nested folder of 20 real images (scikit-image photographs, downscaled ×1/4 and kept
    non-square, + 16 LFW faces at 25×25) with mixed extensions and one non-image file::

        root/README.txt                       not an image
        root/photos/camera.png                grayscale, 128×128
        root/photos/astronaut.png             RGB 128×128
        root/photos/coffee.jpg                RGB 150×100
        root/photos/cats/chelsea.JPG          RGB 113×75
        root/faces/lfw_000.jpg … lfw_007.jpg  grayscale faces
        root/faces/more/lfw_008.png … lfw_015.jpeg (.png and .jpeg alternate)

    The top-level subfolders ``faces`` (16 images) and ``photos`` (4) are the classes with
    ``class_subfolders=True``. Returns ``root``."""
    from skimage import data

    root = tmp_path_factory.mktemp("image_folder_root")
    (root / "photos" / "cats").mkdir(parents=True)
    (root / "faces" / "more").mkdir(parents=True)

    def save(array: np.ndarray, path: Path) -> None:
        image = Image.fromarray(array)
        image.resize((image.width // 4, image.height // 4), Image.Resampling.BILINEAR).save(path)

    save(data.camera(), root / "photos" / "camera.png")
    save(data.astronaut(), root / "photos" / "astronaut.png")
    save(data.coffee(), root / "photos" / "coffee.jpg")
    save(data.chelsea(), root / "photos" / "cats" / "chelsea.JPG")
    for i, face in enumerate(lfw_faces(16)):
        if i < 8:
            face.save(root / "faces" / f"lfw_{i:03d}.jpg")
        else:
            face.save(root / "faces" / "more" / f"lfw_{i:03d}{('.png', '.jpeg')[i % 2]}")
    (root / "README.txt").write_text("not an image\n")
    return root


@pytest.fixture(scope="session")
def photographs() -> dict[str, np.ndarray]:
    """Real grayscale photographs from scikit-image, float64 in [0, 1], full size (512×512 or not square)."""
    from skimage import color, data

    return {
        "camera": data.camera().astype(np.float64) / 255.0,
        "astronaut": color.rgb2gray(data.astronaut()),
        "coffee": color.rgb2gray(data.coffee()),  # 400×600
        "chelsea": color.rgb2gray(data.chelsea()),  # 300×451
    }


IMAGENET_CLASSES = ("astronaut", "camera", "chelsea", "coffee", "coins", "immunohistochemistry", "rocket")


@pytest.fixture(scope="session")
def imagenet_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ImageNet folder layout built from 7 real scikit-image photographs, one class each
    (``IMAGENET_CLASSES``; camera and coins are grayscale, saved as such)::

        root/train/<class>/crop_0.JPEG … crop_5.JPEG   6 seeded random crops (50–100% of each side),
        root/val/<class>/crop_6.JPEG, crop_7.JPEG        some mirrored, resized to 80–140 pixels per side
        root/train/README.txt                           not an image (ignored)

    Returns ``root``."""
    from skimage import data

    root = tmp_path_factory.mktemp("imagenet_root")
    rng = np.random.default_rng(0)
    for name in IMAGENET_CLASSES:
        photo = Image.fromarray(getattr(data, name)())
        for i in range(8):
            w, h = photo.size
            cw, ch = (int(s * rng.uniform(0.5, 1.0)) for s in (w, h))
            left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            crop = photo.crop((left, top, left + cw, top + ch))
            if rng.random() < 0.5:
                crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            crop = crop.resize((int(rng.integers(80, 141)), int(rng.integers(80, 141))), Image.Resampling.BILINEAR)
            folder = root / ("train" if i < 6 else "val") / name
            folder.mkdir(parents=True, exist_ok=True)
            crop.save(folder / f"crop_{i}.JPEG", quality=90)
    (root / "train" / "README.txt").write_text("not an image\n")
    return root


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A 1 MB tmpfs mounted for one test, for full-disk cases (``mount -t tmpfs``: needs root and a kernel that allows
    it; skipped with the reason otherwise). Returns its folder; unmounted after the test."""
    import subprocess

    mount = tmp_path / "small_disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({(result.stderr or 'not root').strip()[:120]})")
    try:
        yield mount
    finally:
        import gc

        gc.collect()  # a failed writer's file, kept open by a traceback, would keep the mount busy
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)  # detached now, freed once the last file closes
