"""A fixed, seeded train / validation / test split of a molecule set.

One permutation of the rows (``numpy.random.default_rng(seed)``) is cut into ``num_val`` validation rows,
``num_test`` test rows and the rest for training. Smaller runs take *prefixes* of each part
(:meth:`Split.take`): the training sets of a learning curve are nested and every run with the same seed is
tested on the same molecules. For QM9 (130,831 molecules) the defaults leave 110,000 for training
(10,000 validation, 10,831 test).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Split", "make_split"]


@dataclass(frozen=True)
class Split:
    """Row numbers (int64 arrays) of each part, in the order of the seeded permutation."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def take(self, num_train: int | None = None, num_test: int | None = None, num_val: int | None = 0) -> "Split":
        """Prefixes of the parts (None: the whole part).

        Raises:
            ValueError: a count larger than its part (``data.num_train: …``, ``data.num_test: …``).
        """
        parts = {}
        for name, count, rows in (("num_train", num_train, self.train), ("num_val", num_val, self.val), ("num_test", num_test, self.test)):
            if count is None:
                parts[name] = rows
                continue
            if not 0 <= count <= len(rows):
                raise ValueError(f"data.{name}: must be between 0 and {len(rows)} (the split's size), got {count}")
            parts[name] = rows[:count]
        return Split(parts["num_train"], parts["num_val"], parts["num_test"])


def make_split(n: int, seed: int = 0, num_val: int = 10_000, num_test: int = 10_831) -> Split:
    """Split ``n`` rows: validation first, then test, the rest training (all from one seeded permutation).

    Raises:
        ValueError: ``num_val + num_test ≥ n`` or a negative count.
    """
    if num_val < 0 or num_test < 0 or num_val + num_test >= n:
        raise ValueError(f"data: a split of {n} molecules cannot hold {num_val} validation and {num_test} test molecules")
    order = np.random.default_rng(seed).permutation(n)
    return Split(train=order[num_val + num_test :], val=order[:num_val], test=order[num_val : num_val + num_test])
