"""Linear operators ``A: code -> signal`` for the sparse-coding layers (DESIGN.md §4–§5).

Homotopy ISTA only ever applies ``A`` and ``Aᵀ`` to batches, so a dictionary is anything that
implements :class:`LinearOperator`: a dense matrix (:class:`DenseOperator`) or the coarse-grid
convolution ``A = L∘D`` of :mod:`gennet.sparse.dictionary`. Operators are plain objects (not
``nn.Module``): they are rebuilt, differentiably in their parameters, at every forward pass.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gennet.sparse.frequency_blocks import ColumnMap


class LinearOperator:
    """Abstract linear map ``A`` from codes ``(B, *code_shape)`` to signals ``(B, *signal_shape)``.

    Subclasses set ``code_shape`` (shape of one code, no batch dimension) and implement
    :meth:`forward` and :meth:`adjoint`; both must be batched over the leading dimension and
    differentiable in the input and in the operator's own tensors. :meth:`norm_squared` defaults
    to a power iteration; override it where ``‖A‖²`` is known exactly. The default needs
    ``dtype`` and ``device`` (properties to override, or attributes to set) to draw its probe.
    """

    code_shape: tuple[int, ...]

    def forward(self, z: Tensor) -> Tensor:
        """``A z``: ``(B, *code_shape) -> (B, *signal_shape)``."""
        raise NotImplementedError

    def adjoint(self, y: Tensor) -> Tensor:
        """``Aᵀ y``: ``(B, *signal_shape) -> (B, *code_shape)``."""
        raise NotImplementedError

    def __call__(self, z: Tensor) -> Tensor:
        return self.forward(z)

    def gram(self, z: Tensor) -> Tensor:
        """``AᵀA z``: ``(B, *code_shape) → (B, *code_shape)``; one ``(A, Aᵀ)`` pass unless overridden."""
        return self.adjoint(self.forward(z))

    def lasso_optimality(self, z: Tensor, y: Tensor, lam: Tensor | float) -> tuple[Tensor, Tensor, Tensor]:
        """``(F, r, Aᵀr)``: ``r = y − A z``, ``F = Aᵀr − λ·sign(z)`` (the Lasso's optimality map at a detached code ``z``,
        differentiable in ``y``, the operator and ``λ``; :mod:`gennet.sparse.implicit`), ``r`` and ``Aᵀr`` detached.
        ``z: (B, *code_shape)``, ``y: (B, *signal_shape)``, ``lam``: float or broadcastable to ``z``. By autograd here;
        operators may override it with a hand-written backward."""
        residual = y - self.forward(z)
        correlation = self.adjoint(residual)
        if not isinstance(lam, Tensor):
            lam = torch.as_tensor(lam, dtype=correlation.dtype, device=correlation.device)
        F = torch.addcmul(correlation, lam, torch.sign(z), value=-1)
        return F, residual.detach(), correlation.detach()

    def solve_shifted(self, rhs: Tensor, rho: float) -> Tensor:
        """``(AᵀA + ρI)⁻¹ rhs`` for codes ``rhs: (B, *code_shape)``, ``ρ > 0`` (no gradient).

        The linear solve of ADMM (:mod:`gennet.sparse.admm`). Operators whose Gram matrix has a
        structure to exploit implement it exactly; the base class does not.
        """
        raise NotImplementedError(f"{type(self).__name__} has no solve_shifted; ADMM needs it")

    def column_map(self, batch: int, kind: str, rho: float | None = None, gain: float = 1.0, identity: float = 0.0) -> ColumnMap:
        """The affine map ``x ↦ β·out + T x + bias`` of codes stored as columns that the iterative solvers apply
        (:class:`~gennet.sparse.frequency_blocks.ColumnMap`): ``T = gain·(AᵀA + ρI)⁻¹ + identity·I`` (``kind="solve"``)
        or ``gain·AᵀA + identity·I`` (``"gram"``) for ``batch`` codes. The default goes through :meth:`solve_shifted`
        and :meth:`gram`; operators with a cheaper layout override it."""
        return ColumnMap(self, batch, kind, rho, gain, identity)

    @property
    def dtype(self) -> torch.dtype:
        raise NotImplementedError(f"{type(self).__name__} must define `dtype` for the default norm_squared")

    @property
    def device(self) -> torch.device:
        raise NotImplementedError(f"{type(self).__name__} must define `device` for the default norm_squared")

    def norm_squared(self, n_iter: int = 100, rtol: float = 1e-4, seed: int = 0) -> Tensor:
        """Largest eigenvalue of ``AᵀA`` (scalar tensor, no gradient) by power iteration.

        Starts from a seeded Gaussian code; stops when two consecutive estimates agree to
        ``rtol`` (≈ 1e-3 relative accuracy of the eigenvalue in practice) or after ``n_iter``.
        """
        gen = torch.Generator(device="cpu").manual_seed(seed)
        with torch.no_grad():
            v = torch.randn((1, *self.code_shape), generator=gen, dtype=torch.float64)
            v = (v / v.norm()).to(dtype=self.dtype, device=self.device)
            estimate = torch.zeros((), dtype=self.dtype, device=self.device)
            for _ in range(n_iter):
                w = self.adjoint(self.forward(v))
                new = (v * w).sum()  # Rayleigh quotient, ‖v‖ = 1
                v = w / w.norm().clamp_min(torch.finfo(w.dtype).tiny)
                converged = bool((new - estimate).abs() <= rtol * new.abs())
                estimate = new
                if converged:
                    break
        return estimate


def shifted_gram_inverse(matrix: Tensor, rho: float) -> Tensor:
    """``(MᵀM + ρI)⁻¹`` for a dense ``M: (d, K)``, ``(K, K)`` in ``M``'s dtype (no gradient).

    Factorized in float64 by Cholesky; through the ``d × d`` system ``(ρI + MMᵀ)`` (Woodbury) when ``d < K``.
    """
    with torch.no_grad():
        M = matrix.detach().double()
        d, K = M.shape
        if d < K:
            small = torch.cholesky_inverse(torch.linalg.cholesky(M @ M.T + rho * torch.eye(d, dtype=M.dtype, device=M.device)))
            inverse = (torch.eye(K, dtype=M.dtype, device=M.device) - M.T @ small @ M) / rho
        else:
            inverse = torch.cholesky_inverse(torch.linalg.cholesky(M.T @ M + rho * torch.eye(K, dtype=M.dtype, device=M.device)))
        return inverse.to(matrix.dtype)


class DenseOperator(LinearOperator):
    """A dense dictionary ``matrix: (d, K)`` (atoms as columns): codes ``(B, K)``, signals ``(B, d)``."""

    def __init__(self, matrix: Tensor) -> None:
        if matrix.ndim != 2:
            raise ValueError(f"matrix must have shape (d, K), got {tuple(matrix.shape)}")
        self.matrix = matrix
        self.code_shape = (matrix.shape[1],)
        self._inverses: dict[float, Tensor] = {}

    @property
    def dtype(self) -> torch.dtype:
        return self.matrix.dtype

    @property
    def device(self) -> torch.device:
        return self.matrix.device

    def forward(self, z: Tensor) -> Tensor:
        return z @ self.matrix.T

    def adjoint(self, y: Tensor) -> Tensor:
        return y @ self.matrix

    def solve_shifted(self, rhs: Tensor, rho: float) -> Tensor:
        """``(AᵀA + ρI)⁻¹ rhs`` exactly (a cached ``K × K`` inverse per ``ρ``), ``rhs: (B, K)``."""
        if rho not in self._inverses:
            self._inverses[rho] = shifted_gram_inverse(self.matrix, rho)
        return rhs @ self._inverses[rho]  # symmetric

    def column_map(self, batch: int, kind: str, rho: float | None = None, gain: float = 1.0, identity: float = 0.0) -> ColumnMap:
        """One ``K × K`` matrix product per application (columns ``(K, B)``)."""
        return _MatrixColumnMap(self, batch, kind, rho, gain, identity)

    def norm_squared(self) -> Tensor:  # type: ignore[override]
        """Exact ``‖A‖²`` (squared spectral norm), no gradient."""
        with torch.no_grad():
            return torch.linalg.matrix_norm(self.matrix, ord=2) ** 2


class _MatrixColumnMap(ColumnMap):
    """:class:`~gennet.sparse.frequency_blocks.ColumnMap` of a :class:`DenseOperator`: ``T`` as one ``(K, K)`` matrix."""

    def __init__(self, op: DenseOperator, batch: int, kind: str, rho: float | None, gain: float, identity: float) -> None:
        super().__init__(op, batch, kind, rho, gain, identity)
        with torch.no_grad():
            M = op.matrix.detach()
            base = shifted_gram_inverse(M, rho) if kind == "solve" else M.T @ M
            self.matrix = gain * base + identity * torch.eye(M.shape[1], dtype=M.dtype, device=M.device)

    def apply(self, x: Tensor, out: Tensor | None = None, beta: float = 0.0) -> Tensor:
        start = self.bias if self.bias is not None else None
        if out is None:
            return torch.mm(self.matrix, x) if start is None else torch.addmm(start, self.matrix, x)
        if start is None:
            return out.addmm_(self.matrix, x, beta=beta)
        return out.mul_(beta).add_(start).addmm_(self.matrix, x)


class PointwiseOperator(LinearOperator):
    """A 1×1 convolutional dictionary: the same ``(d, K)`` matrix applied at every position.

    Codes ``(B, K, *spatial)`` → signals ``(B, d, *spatial)``: ``(A z)[:, :, p] = D z[:, :, p]``. With an
    *analysis* matrix ``W`` (``(d, K)``, default ``D``) the "adjoint" is ``Wᵀ y`` instead of ``Dᵀ y`` —
    the untied ISTC of Zarka et al. (ICLR 2020, §3.2), ``z ← ρ(z + Wᵀ(y − D z) − λ)``; ``W = D`` is the
    true adjoint. :meth:`norm_squared` is ``‖D‖²`` (exact, the spectral norm of one position's map).

    Raises:
        ValueError: ``D`` not 2-D, or ``W`` not of ``D``'s shape.
    """

    def __init__(self, D: Tensor, W: Tensor | None = None) -> None:
        if D.ndim != 2:
            raise ValueError(f"D must have shape (d, K), got {tuple(D.shape)}")
        if W is not None and W.shape != D.shape:
            raise ValueError(f"W must have D's shape {tuple(D.shape)}, got {tuple(W.shape)}")
        self.D, self.W = D, D if W is None else W
        self.code_shape = (D.shape[1],)  # plus the spatial dimensions of the input
        self._inverses: dict[float, Tensor] = {}

    @property
    def dtype(self) -> torch.dtype:
        return self.D.dtype

    @property
    def device(self) -> torch.device:
        return self.D.device

    def forward(self, z: Tensor) -> Tensor:
        return torch.einsum("dk,bk...->bd...", self.D, z)

    def adjoint(self, y: Tensor) -> Tensor:
        return torch.einsum("dk,bd...->bk...", self.W, y)

    def solve_shifted(self, rhs: Tensor, rho: float) -> Tensor:
        """``(DᵀD + ρI)⁻¹`` at every position (exact; ``W`` plays no part), ``rhs: (B, K, *spatial)``."""
        if rho not in self._inverses:
            self._inverses[rho] = shifted_gram_inverse(self.D, rho)
        return torch.einsum("kl,bl...->bk...", self._inverses[rho], rhs)

    def norm_squared(self) -> Tensor:  # type: ignore[override]
        """Exact ``‖D‖²`` (squared spectral norm of ``D``), no gradient."""
        with torch.no_grad():
            return torch.linalg.matrix_norm(self.D, ord=2) ** 2


def as_operator(A: Tensor | LinearOperator) -> LinearOperator:
    """Wrap a dense ``(d, K)`` tensor into :class:`DenseOperator`; pass operators through."""
    if isinstance(A, LinearOperator):
        return A
    if isinstance(A, Tensor):
        return DenseOperator(A)
    raise TypeError(f"A must be a (d, K) tensor or a LinearOperator, got {type(A).__name__}")
