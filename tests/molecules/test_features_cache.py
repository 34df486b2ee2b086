"""Batched scattering features of real QM9 rows: the on-disk cache returns what a fresh computation returns,
computes only missing rows, and is keyed by every parameter and the data (a stale cache is never read)."""

import numpy as np
import pytest

from gennet.molecules.features import ScatteringFeatures
from gennet.molecules.qm9 import QM9, load_qm9
from tests.molecules.helpers import write_qm9_head

SMALL = dict(shape=(16, 16, 16), spacing=0.7, sigma_density=0.7, sigma_0=0.7, J=1, L=2, integral_powers=(0.5, 1.0, 2.0),
             grid=True, grid_order0=True, exact_scales=(0.42, 1.2), exact_L=1, cubic_scales=(0.0,), batch_size=4)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_qm9(files=write_qm9_head(tmp_path_factory.mktemp("qm9"), rows=6))


def test_cache_matches_fresh_and_fills_missing_rows(data, tmp_path):
    features = ScatteringFeatures(**SMALL)
    fresh = features.compute(data, np.arange(8), progress=False)
    assert fresh.shape == (8, len(features.names)) and np.isfinite(fresh).all()
    first = features.compute(data, np.arange(5), cache_dir=tmp_path, progress=False)
    assert features.last_timing["molecules"] == 5
    np.testing.assert_allclose(first, fresh[:5], rtol=1e-6)
    second = features.compute(data, np.array([7, 3, 4, 6, 3]), cache_dir=tmp_path, progress=False)
    assert features.last_timing["molecules"] == 2  # rows 6 and 7 only
    np.testing.assert_allclose(second, fresh[[7, 3, 4, 6, 3]], rtol=1e-6)
    # the batch layout does not change a molecule's features
    one = ScatteringFeatures(**{**SMALL, "batch_size": 1}).compute(data, np.array([6]), progress=False)
    np.testing.assert_allclose(one, fresh[[6]], rtol=1e-5)


def test_key_covers_parameters_and_data(data, tmp_path):
    base = ScatteringFeatures(**SMALL)
    base.compute(data, np.arange(3), cache_dir=tmp_path, progress=False)
    other = ScatteringFeatures(**{**SMALL, "sigma_0": 0.8})
    values = other.compute(data, np.arange(3), cache_dir=tmp_path, progress=False)
    assert other.last_timing["molecules"] == 3 and len(list(tmp_path.glob("scattering-*"))) == 2
    assert not np.allclose(values, base.compute(data, np.arange(3), progress=False))
    moved = QM9(data.index, data.charges, data.positions.copy(), data.u0, data.energy)
    moved.positions[0, 1] += 0.2
    again = base.compute(moved, np.arange(3), cache_dir=tmp_path, progress=False)
    assert base.last_timing["molecules"] == 3  # another dataset: nothing read from the first cache
    assert not np.allclose(again[0], values[0])
    assert base._key(moved) != base._key(data)


def test_bad_parameters_name_the_key():
    for kwargs, key in (({"J": -1}, "J:"), ({"spacing": 0}, "spacing:"), ({"channels": ["spin"]}, "channels"),
                        ({"max_order": 3}, "max_order:"), ({"dtype": "float16"}, "dtype:")):
        with pytest.raises(ValueError, match=key):
            ScatteringFeatures(**kwargs)


def test_grid_too_small_is_refused_before_any_work(data):
    with pytest.raises(ValueError, match="grid: molecule #"):
        ScatteringFeatures(**{**SMALL, "shape": (8, 8, 8)}).compute(data, np.arange(10), progress=False)


def test_a_damaged_cache_is_computed_again(data, tmp_path):
    """A cache whose record of done rows is truncated (a first write killed before the atomic writers) is not read: the
    rows are computed again and the record rewritten whole, with no temporary file left beside it."""
    features = ScatteringFeatures(**SMALL)
    expected = features.compute(data, np.arange(4), progress=False)
    features.compute(data, np.arange(4), cache_dir=tmp_path, progress=False)
    (folder,) = tmp_path.glob("scattering-*")
    (folder / "done.npy").write_bytes((folder / "done.npy").read_bytes()[:20])
    again = features.compute(data, np.arange(4), cache_dir=tmp_path, progress=False)
    assert features.last_timing["molecules"] == 4
    np.testing.assert_allclose(again, expected, rtol=1e-6)
    assert sorted(p.name for p in folder.iterdir()) == ["done.npy", "features.npy", "features.npy.record.json", "parameters.json",
                                                        "timing.json"]
    features.compute(data, np.arange(4), cache_dir=tmp_path, progress=False)
    assert features.last_timing["molecules"] == 0  # the rewritten record is read back
