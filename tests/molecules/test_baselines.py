"""The field's descriptors on real QM9 rows: Bag of Bonds against its definition (the Coulomb matrix's entries,
bagged by element pair), the invariances every baseline must have (atom order, rotations), columns that do not
depend on the subset, and the one-line refusal when a package is missing."""

import importlib.util

import numpy as np
import pytest

from gennet.errors import ConfigError
from gennet.molecules.baselines import compute_descriptor, require
from gennet.molecules.qm9 import load_qm9
from tests.molecules.helpers import rotation, write_qm9_head


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_qm9(files=write_qm9_head(tmp_path_factory.mktemp("qm9"), rows=8))


def _moved(data, seed: int):
    """Every molecule with its atoms in another order and rotated (padding kept last)."""
    charges, positions = data.charges.copy(), data.positions.copy()
    rng = np.random.default_rng(seed)
    for i, n in enumerate(data.num_atoms):
        order = rng.permutation(n)
        charges[i, :n] = data.charges[i, order]
        positions[i, :n] = data.positions[i, order] @ rotation(seed + i).T
    return charges, positions


def test_bag_of_bonds_is_the_bagged_coulomb_matrix(data):
    bob = compute_descriptor("bob", data.charges, data.positions, progress=False)
    for i in range(len(data)):
        n = data.num_atoms[i]
        z, r = data.charges[i, :n].astype(float), data.positions[i, :n]
        d = np.linalg.norm(r[:, None] - r[None], axis=-1)
        entries = [0.5 * zi**2.4 for zi in z] + [z[a] * z[b] / d[a, b] for a in range(n) for b in range(a + 1, n)]
        np.testing.assert_allclose(np.sort(bob[i][bob[i] != 0]), np.sort(entries), rtol=1e-10)


@pytest.mark.parametrize("name", ["coulomb", "bob", "slatm", "soap"])
def test_invariant_to_atom_order_and_rotations(data, name):
    original = compute_descriptor(name, data.charges, data.positions, progress=False)
    moved = compute_descriptor(name, *_moved(data, 3), progress=False)
    assert original.shape[0] == len(data) and np.isfinite(original).all()
    np.testing.assert_allclose(moved, original, rtol=1e-6, atol=1e-8 * np.abs(original).max())


@pytest.mark.parametrize("name", ["bob", "slatm"])
def test_columns_follow_the_reference_set(data, name):
    """A subset described against the whole set's charges has the whole set's columns, row for row."""
    whole = compute_descriptor(name, data.charges, data.positions, progress=False)
    part = compute_descriptor(name, data.charges[:5], data.positions[:5], reference_charges=data.charges, progress=False)
    np.testing.assert_allclose(part, whole[:5], rtol=1e-12)


def test_missing_package_and_unknown_name(monkeypatch):
    with pytest.raises(ConfigError, match="unknown descriptor 'fchl'"):
        require("fchl")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "qmllib" else real(name, *a))
    with pytest.raises(ConfigError, match=r"bob needs qmllib: pip install -e \".\[chem\]\""):
        require("bob")
