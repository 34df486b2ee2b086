"""A tiny LSUN layout (lmdb databases of real photographs), shared by the LSUN data and CLI tests.

Import the fixtures where needed: ``from tests.data.lsun_layout import lsun_layout, lsun_root  # noqa: F401``.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import lmdb
import numpy as np
import pytest
from PIL import Image

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")  # RGB, shipped with scikit-image
LSUN_SIZES = {"train": 24, "val": 8}


def write_lsun(root: Path, category: str = "bedroom", sizes: dict[str, int] = LSUN_SIZES, seed: int = 0) -> dict:
    """Write ``root/<category>_<split>_lmdb`` for each split of ``sizes``, LSUN-style: values are WEBP
    (or, every third image, JPEG) bytes of seeded random crops (40–100% of each side) of scikit-image
    photographs resized to 96–160 × 72–128 pixels (one in seven grayscale); keys are 40-character hex
    strings like LSUN's (here the SHA-1 of the value). Returns ``{split: {key: encoded bytes}}``."""
    from skimage import data

    rng = np.random.default_rng(seed)
    photos = [Image.fromarray(getattr(data, name)()) for name in PHOTOS]
    written: dict[str, dict[bytes, bytes]] = {}
    for split, count in sizes.items():
        values = {}
        for i in range(count):
            photo = photos[int(rng.integers(len(photos)))]
            w, h = photo.size
            cw, ch = (int(s * rng.uniform(0.4, 1.0)) for s in (w, h))
            left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            crop = photo.crop((left, top, left + cw, top + ch))
            crop = crop.resize((int(rng.integers(96, 161)), int(rng.integers(72, 129))), Image.Resampling.BILINEAR)
            if i % 7 == 6:
                crop = crop.convert("L")
            buffer = io.BytesIO()
            crop.save(buffer, format="JPEG" if i % 3 == 2 else "WEBP", quality=85)
            value = buffer.getvalue()
            values[hashlib.sha1(value).hexdigest().encode()] = value
        assert len(values) == count
        env = lmdb.open(str(root / f"{category}_{split}_lmdb"), map_size=1 << 26)
        with env.begin(write=True) as txn:
            for key, value in values.items():
                txn.put(key, value)
        env.close()
        written[split] = values
    return written


@pytest.fixture(scope="session")
def lsun_layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """``(root, written)``: ``root/bedroom_train_lmdb`` (24 images), ``root/bedroom_val_lmdb`` (8) and
    ``{split: {key: encoded image}}`` as returned by :func:`write_lsun`."""
    root = tmp_path_factory.mktemp("lsun_root")
    return root, write_lsun(root)


@pytest.fixture(scope="session")
def lsun_root(lsun_layout: tuple[Path, dict]) -> Path:
    """The ``root`` of :func:`lsun_layout`."""
    return lsun_layout[0]
