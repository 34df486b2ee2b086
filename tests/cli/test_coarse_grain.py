"""``sample.py condition=…``: the values that choose the test images to condition on (the sampling itself:
tests/priors/test_coarse_grain.py)."""

from __future__ import annotations

import pytest

from gennet.cli.sample import condition_indices
from gennet.errors import ConfigError


def test_condition_values():
    assert condition_indices(3, 500) == [0, 1, 2]
    assert condition_indices([4, 0, 4], 500) == [4, 0, 4]
    for bad in (0, 501, [], [1, 500], [-1], "3", 2.5, True, [1.0]):
        with pytest.raises(ConfigError, match="condition"):
            condition_indices(bad, 500)
