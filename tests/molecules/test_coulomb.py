"""The Coulomb matrix against its definition (loops, Rupp et al. 2012 eq. 1) and the eigenvalue descriptor's
invariances (atom order, rigid motions, padding)."""

import numpy as np
import torch

from gennet.molecules.coulomb import BOHR_PER_ANGSTROM, coulomb_eigenvalues, coulomb_matrix
from tests.molecules.helpers import rotation

Z = torch.tensor([[8, 6, 1, 1, 0, 0]])
R = torch.tensor([[[0.0, 0.0, 0.0], [1.21, 0.0, 0.0], [1.8, 0.94, 0.0], [1.8, -0.94, 0.0], [0, 0, 0], [0, 0, 0]]], dtype=torch.float64)


def test_matrix_matches_definition():
    M = coulomb_matrix(Z, R)[0].numpy()
    z, r = Z[0].numpy(), R[0].numpy() * BOHR_PER_ANGSTROM
    for i in range(4):
        for j in range(4):
            expected = 0.5 * z[i] ** 2.4 if i == j else z[i] * z[j] / np.linalg.norm(r[i] - r[j])
            assert abs(M[i, j] - expected) <= 1e-12 * abs(expected)
    assert np.all(M[4:] == 0) and np.all(M[:, 4:] == 0)


def test_eigenvalues_invariant():
    e = coulomb_eigenvalues(Z, R)[0]
    perm = torch.tensor([2, 0, 3, 1, 4, 5])
    moved = R[:, perm] @ torch.from_numpy(rotation(3)).T + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    moved[:, 4:] = 0
    torch.testing.assert_close(coulomb_eigenvalues(Z[:, perm], moved)[0], e)
    assert torch.all(e[4:] == 0) and torch.all(e[:4].abs() > 0)
    assert torch.all(e.abs()[:-1] >= e.abs()[1:])
    np.testing.assert_allclose(e[:4].sum().item(), coulomb_matrix(Z, R)[0].trace().item())
