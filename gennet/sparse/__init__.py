"""Sparse coding (DESIGN.md §4–§6b): linear operators, the Lasso, its solvers, its certificate, its derivative.

The solvers share one interface, :class:`LassoSolver` (``z = solver(y, A)``): :class:`ADMM`, :class:`FISTA`,
:class:`ISTC`, :class:`ActiveSetHomotopy`; :data:`SOLVERS` maps their short names to them.
"""

from gennet.sparse.admm import ADMM, admm_lasso
from gennet.sparse.duality_gap import LassoCertificate, duality_gap
from gennet.sparse.fista import FISTA
from gennet.sparse.homotopy import ActiveSetHomotopy, homotopy_ista
from gennet.sparse.implicit import lasso_implicit
from gennet.sparse.istc import ISTC, istc
from gennet.sparse.lasso import lambda_max, lasso_objective, soft_threshold
from gennet.sparse.operator import DenseOperator, LinearOperator, PointwiseOperator, as_operator
from gennet.sparse.solver import SOLVERS, HomotopyStats, LassoSolver, solver_class

__all__ = [
    "ADMM",
    "FISTA",
    "ISTC",
    "SOLVERS",
    "ActiveSetHomotopy",
    "DenseOperator",
    "HomotopyStats",
    "LassoCertificate",
    "LassoSolver",
    "LinearOperator",
    "PointwiseOperator",
    "admm_lasso",
    "as_operator",
    "duality_gap",
    "homotopy_ista",
    "istc",
    "lambda_max",
    "lasso_implicit",
    "lasso_objective",
    "soft_threshold",
    "solver_class",
]
