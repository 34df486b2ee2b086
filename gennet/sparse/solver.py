"""The Lasso-solver interface (DESIGN.md §5, §6b): one ``nn.Module`` per algorithm, one call signature.

Every solver computes a code for ``min_z F(z) = ½‖y − A z‖² + λ*‖z‖₁`` (``z ≥ 0`` when ``positive``) in
``n_layers`` iterations and owns its weight ``λ*`` (a learnable ``log λ*`` or a buffer). A model holds one
solver object and calls it with its signals and its operator — ``z = solver(y, A)`` — whatever the
algorithm: :class:`~gennet.sparse.admm.ADMM` (exact shifted-Gram solves, implicit derivative),
:class:`~gennet.sparse.istc.ISTC` (Zarka et al.'s unrolled geometric ISTC),
:class:`~gennet.sparse.homotopy.ActiveSetHomotopy` (the unrolled pathwise active-set homotopy).
A subclass implements :meth:`LassoSolver.solve`; the statistics and the certificate of the code are computed
here, the same for all. Each subclass registers under a short ``name`` in :data:`SOLVERS` (the names of
earlier configs: ``admm``, ``istc``, ``active_set``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gennet.sparse.duality_gap import LassoCertificate, certificate
from gennet.sparse.operator import LinearOperator, as_operator

__all__ = ["SOLVERS", "HomotopyStats", "LassoSolver", "code_statistics", "solver_class"]

#: ``name`` → solver class, filled by the subclasses of :class:`LassoSolver` (``class ADMM(LassoSolver, name="admm")``).
SOLVERS: dict[str, type[LassoSolver]] = {}


@dataclass
class HomotopyStats:
    """Batch means of the returned code (all detached 0-dim tensors).

    ``sparsity``: fraction of nonzeros ``‖z‖₀ / K`` (``K`` = all code entries);
    ``support_size``: ``‖z‖₀``; ``lambda_final``: ``λ`` of the last layer (``λ*``);
    ``relative_residual``: ``‖y − A z‖ / ‖y‖`` (0 for ``y = 0``).
    """

    sparsity: Tensor
    support_size: Tensor
    lambda_final: Tensor
    relative_residual: Tensor


def code_statistics(
    z: Tensor, y: Tensor, op: LinearOperator, lam: Tensor, positive: bool, return_stats: bool, want_certificate: bool,
    found: LassoCertificate | None = None,
):
    """What a solver returns for its code ``z``: ``z``; ``(z, HomotopyStats)`` with ``return_stats``; ``(z, certificate)``
    with ``want_certificate`` (``found``, if the solver already has it, else one more ``A z`` and ``Aᵀr``)."""
    if want_certificate:
        if found is not None:
            return z, found
        with torch.no_grad():
            r = y.detach() - op.forward(z.detach())
            return z, certificate(y.detach(), r, op.adjoint(r), z.detach(), lam.detach(), positive)
    if not return_stats:
        return z
    with torch.no_grad():
        nnz = (z != 0).flatten(1).sum(1).to(y.dtype)
        y_norm = y.flatten(1).norm(dim=1)
        res = (y - op.forward(z)).flatten(1).norm(dim=1)
        rel = torch.where(y_norm > 0, res / y_norm.clamp_min(torch.finfo(y.dtype).tiny), torch.zeros_like(res))
        stats = HomotopyStats(
            sparsity=(nnz / z[0].numel()).mean(),
            support_size=nnz.mean(),
            lambda_final=lam.detach().clone(),
            relative_residual=rel.mean(),
        )
    return z, stats


class LassoSolver(nn.Module):
    """Base of the Lasso solvers: ``z = solver(y, A)`` for ``min_z ½‖y − A z‖² + λ*‖z‖₁`` (module docstring).

    ``λ*`` is stored as ``log_lambda`` (an ``nn.Parameter`` if ``learn_lambda``, else a buffer);
    :attr:`lambda_star` returns ``max(exp(log_lambda), lambda_min)``. The operator ``A`` is an argument of
    :meth:`forward` (it belongs to the model that learns it).

    Args:
        lambda_star: ``λ* > 0``. n_layers: iterations (layers) ``N ≥ 1``. positive: ``z ≥ 0``.
        learn_lambda: learn ``log λ*``. lambda_min: floor ``≥ 0`` of ``λ*``.

    Raises:
        ValueError: ``lambda_star <= 0``, ``n_layers`` not an integer ``>= 1`` or ``lambda_min < 0``.
    """

    name: str = ""  #: short name of the solver (:data:`SOLVERS`)

    def __init_subclass__(cls, name: str | None = None, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if name is not None:
            cls.name = name
            SOLVERS[name] = cls

    def __init__(
        self, lambda_star: float = 0.1, n_layers: int = 12, positive: bool = True, learn_lambda: bool = False,
        lambda_min: float = 0.0,
    ) -> None:
        super().__init__()
        if not lambda_star > 0:
            raise ValueError(f"lambda_star must be > 0, got {lambda_star}")
        if int(n_layers) != n_layers or n_layers < 1:
            raise ValueError(f"n_layers must be an integer >= 1, got {n_layers}")
        if not lambda_min >= 0:
            raise ValueError(f"lambda_min must be >= 0, got {lambda_min}")
        self.n_layers = int(n_layers)
        self.positive = bool(positive)
        self.lambda_min = float(lambda_min)
        log_lambda = torch.tensor(math.log(lambda_star))
        if learn_lambda:
            self.log_lambda = nn.Parameter(log_lambda)
        else:
            self.register_buffer("log_lambda", log_lambda)

    @property
    def lambda_star(self) -> Tensor:
        """``max(exp(log_lambda), lambda_min)``, a 0-dim tensor (differentiable above the floor)."""
        return self.log_lambda.exp().clamp_min(self.lambda_min)

    def forward(
        self, y: Tensor, A: Tensor | LinearOperator, return_stats: bool = False, *, aty: Tensor | None = None,
        certificate: bool = False,
    ):
        """The code of ``y`` in ``A``.

        Args:
            y: signals ``(B, d)`` for a dense ``A``, ``(B, *signal_shape)`` for an operator; float.
            A: dense dictionary ``(d, K)`` with unit-norm columns, or a :class:`~gennet.sparse.operator.LinearOperator`.
            return_stats: also return :class:`HomotopyStats` (one extra ``A z``).
            aty: ``Aᵀy`` if already computed (a solver that starts from it uses it instead of one ``Aᵀ`` pass).
            certificate: return the code's :class:`~gennet.sparse.duality_gap.LassoCertificate` (duality gap,
                relative residual) instead of the stats.

        Returns:
            ``z: (B, K)`` or ``(B, *code_shape)``, ``y``'s dtype (and the stats or the certificate if asked);
            ``y = 0`` rows give ``z = 0``. ``λ* > 0`` holds by construction, so it is not checked (no host
            synchronization).
        """
        lam = self.lambda_star
        if lam.dtype != y.dtype or lam.device != y.device:
            lam = lam.to(dtype=y.dtype, device=y.device)
        op = as_operator(A)
        z, found = self.solve(y, op, lam, aty, certificate)
        return code_statistics(z, y, op, lam, self.positive, return_stats, certificate, found)

    def solve(
        self, y: Tensor, op: LinearOperator, lam: Tensor, aty: Tensor | None, want_certificate: bool
    ) -> tuple[Tensor, LassoCertificate | None]:
        """The algorithm: ``(z, certificate or None)`` for ``λ = lam`` (0-dim, ``y``'s dtype); a solver that gets the
        certificate for free (``want_certificate``) returns it, else ``None``."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"lambda_star={float(self.lambda_star.detach()):.4g}, n_layers={self.n_layers}, "
            f"positive={self.positive}, learn_lambda={isinstance(self.log_lambda, nn.Parameter)}"
        )


def solver_class(target: object) -> type[LassoSolver]:
    """The solver named by a config: a class path (``gennet.sparse.ADMM``, ``gennet.sparse.admm.ADMM``) or a
    short name of :data:`SOLVERS` (``admm``). Only the registered solvers are found, so a checkpoint cannot
    make the loader import anything else.

    Raises:
        ValueError: ``target`` names no registered solver (the message lists them).
    """
    import gennet.sparse  # noqa: F401  (registers every solver)

    for name, cls in SOLVERS.items():
        if target in (name, f"gennet.sparse.{cls.__name__}", f"{cls.__module__}.{cls.__qualname__}"):
            return cls
    known = ", ".join(f"gennet.sparse.{cls.__name__}" for cls in SOLVERS.values())
    raise ValueError(f"must name a Lasso solver ({known}), got {target!r}")
