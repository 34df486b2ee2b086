"""Sparse coding (DESIGN.md §4–§6b): linear operators, the Lasso, its solvers, its certificate, its derivative."""

from gennet.sparse.admm import admm_lasso
from gennet.sparse.duality_gap import LassoCertificate, duality_gap
from gennet.sparse.homotopy import HomotopyISTA, HomotopyStats, homotopy_ista
from gennet.sparse.implicit import lasso_implicit
from gennet.sparse.lasso import lambda_max, lasso_objective, soft_threshold
from gennet.sparse.operator import DenseOperator, LinearOperator, PointwiseOperator, as_operator

__all__ = [
    "DenseOperator",
    "HomotopyISTA",
    "HomotopyStats",
    "LassoCertificate",
    "LinearOperator",
    "PointwiseOperator",
    "admm_lasso",
    "as_operator",
    "duality_gap",
    "homotopy_ista",
    "lambda_max",
    "lasso_implicit",
    "lasso_objective",
    "soft_threshold",
]
