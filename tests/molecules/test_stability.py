"""The rotation-stability check: the rotations are rotations, a model on the grid-free invariants gives a spread at
round-off, one on the grid's invariants a small one, and a predictor that sees the orientation a large one."""

import numpy as np
import pytest
import torch

from gennet.molecules.features import ScatteringFeatures, element_counts
from gennet.molecules.qm9 import load_qm9
from gennet.molecules.regression import RidgeRegression
from gennet.molecules.stability import random_rotations, rotation_spread
from tests.molecules.helpers import write_qm9_head


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_qm9(files=write_qm9_head(tmp_path_factory.mktemp("qm9"), rows=12))


def test_random_rotations_are_rotations():
    R = random_rotations(6, seed=2)
    torch.testing.assert_close(R @ R.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(6, 3, 3))
    torch.testing.assert_close(torch.det(R), torch.ones(6, dtype=torch.float64))
    assert not torch.allclose(R[0], R[1])


def _spread(features, data):
    X = features.compute(data, progress=False)
    counts = element_counts(data.charges).numpy()
    model = RidgeRegression().fit(X, data.energy, counts)

    def predict(z, p):
        return model.predict(features.transform(torch.from_numpy(z), torch.from_numpy(p)).numpy(), element_counts(z).numpy())

    return rotation_spread(predict, data.charges[:6], data.positions[:6], rotations=3, seed=1)


def test_grid_free_invariants_do_not_move(data):
    exact = ScatteringFeatures(grid=False, counts=True, sigma_density=0.22, exact_scales=(0.42, 0.84, 1.68), exact_L=2,
                               cross_channels=True, cubic_scales=(0.0, 0.42))
    spread = _spread(exact, data)
    assert spread["std_max"] < 1e-6, spread


def test_grid_invariants_move_a_little_and_orientation_a_lot(data):
    grid = ScatteringFeatures(shape=(32, 28, 24), spacing=0.7, J=1, L=2, integral_powers=(0.5, 1.0, 2.0), align=False,
                              grid=True, exact_scales=(), cubic_scales=())  # the grid's invariants alone
    spread = _spread(grid, data)
    assert 0 < spread["std_mean"] < 5.0, spread  # kcal/mol: the grid's discretization, no alignment
    turned = rotation_spread(lambda z, p: 100 * p[:, 0, 0], data.charges[:10], data.positions[:10], rotations=3)
    assert turned["std_mean"] > 1, turned
    with pytest.raises(ValueError, match="at least 2"):
        rotation_spread(lambda z, p: p[:, 0, 0], data.charges[:2], data.positions[:2], rotations=1)
