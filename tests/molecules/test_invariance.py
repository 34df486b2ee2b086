"""Invariance of the scattering features of a real molecule (QM9 rows from qm9pack) to translations and
rotations, without the principal-axes placement (``align=False``: the operator's own invariance).

Tolerances (grid spacing 0.5 Å, Gaussians of 0.7 Å, σ/h = 1.4): translations by a fraction of a voxel change
no invariant by more than 1e-6 relative (the closed-form density is shifted by a phase; measured ~2e-9 in
float64); rotations by ≤ 1e-2 relative (measured 6e-3: the sampled Gaussians' spectrum is cut at the Nyquist
frequency, exp(−π² σ²/2h²) ~ 7e-5, and the moduli and powers q = 0.5 amplify it). A 0.1 Å stretch of one bond
changes the invariants by far more (so the tests can fail)."""

import pytest
import torch

from gennet.molecules.features import ScatteringFeatures
from gennet.molecules.qm9 import load_qm9
from tests.molecules.helpers import rotation, write_qm9_head


@pytest.fixture(scope="module")
def molecules(tmp_path_factory):
    data = load_qm9(files=write_qm9_head(tmp_path_factory.mktemp("qm9"), rows=25))
    rows = [i for i in range(len(data)) if data.num_atoms[i] >= 6][:2]  # two 3D molecules of 6+ atoms
    return torch.from_numpy(data.charges[rows]), torch.from_numpy(data.positions[rows])


@pytest.fixture(scope="module")
def features():
    return ScatteringFeatures(shape=(32, 32, 32), spacing=0.5, sigma_density=0.7, sigma_0=0.7, J=2, L=3, align=False,
                              dtype="float64", subsample=None, grid=True, grid_order0=True, counts=False, exact_scales=(),
                              cubic_scales=())  # the grid's invariants only


def _relative(a, b):
    return float(((a - b).abs() / a.abs()).max())


def test_translation(molecules, features):
    z, p = molecules
    a = features.transform(z, p)
    b = features.transform(z, p + torch.tensor([0.31, -0.17, 0.23], dtype=torch.float64))
    assert _relative(a, b) <= 1e-6


def test_rotation(molecules, features):
    z, p = molecules
    a = features.transform(z, p)
    for seed in (0, 1):
        R = torch.from_numpy(rotation(seed))
        assert _relative(a, features.transform(z, p @ R.T)) <= 1e-2


def test_a_deformation_is_seen(molecules, features):
    z, p = molecules
    stretched = p.clone()
    bond = stretched[:, 1] - stretched[:, 0]
    stretched[:, 1] += 0.1 * bond / bond.norm(dim=-1, keepdim=True)
    assert _relative(features.transform(z, p), features.transform(z, stretched)) > 5e-2


def test_placement_on_principal_axes_is_a_rigid_motion(molecules):
    """``align=True`` moves each molecule rigidly: its interatomic distances are kept."""
    z, p = molecules
    placed = ScatteringFeatures(align=True).place(p, z)
    mask = z > 0
    for b in range(len(z)):
        torch.testing.assert_close(torch.cdist(placed[b, mask[b]], placed[b, mask[b]]), torch.cdist(p[b, mask[b]], p[b, mask[b]]))
