"""The seeded split: disjoint parts covering all rows, reproducible, nested prefixes."""

import numpy as np
import pytest

from gennet.molecules.split import make_split


def test_split():
    a = make_split(1000, seed=3, num_val=100, num_test=150)
    assert (len(a.train), len(a.val), len(a.test)) == (750, 100, 150)
    np.testing.assert_array_equal(np.sort(np.concatenate([a.train, a.val, a.test])), np.arange(1000))
    b = make_split(1000, seed=3, num_val=100, num_test=150)
    np.testing.assert_array_equal(a.test, b.test)
    assert not np.array_equal(a.test, make_split(1000, seed=4, num_val=100, num_test=150).test)
    small, big = a.take(100, 20), a.take(300, 20)
    np.testing.assert_array_equal(big.train[:100], small.train)
    np.testing.assert_array_equal(big.test, small.test)
    with pytest.raises(ValueError, match="data.num_train"):
        a.take(751, 10)
    with pytest.raises(ValueError, match="cannot hold"):
        make_split(100, num_val=50, num_test=50)
