"""Sparse coding (DESIGN.md §4–§5): linear operators, Lasso helpers, homotopy ISTA."""

from gennet.sparse.homotopy import HomotopyISTA, HomotopyStats, homotopy_ista
from gennet.sparse.lasso import lambda_max, lasso_objective, soft_threshold
from gennet.sparse.operator import DenseOperator, LinearOperator, PointwiseOperator, as_operator

__all__ = [
    "DenseOperator",
    "HomotopyISTA",
    "HomotopyStats",
    "LinearOperator",
    "PointwiseOperator",
    "as_operator",
    "homotopy_ista",
    "lambda_max",
    "lasso_objective",
    "soft_threshold",
]
