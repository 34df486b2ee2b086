"""Regressors of molecular energies on invariant features, with every hyper-parameter chosen by the exact
leave-one-out (LOO) error on the training molecules (pure PyTorch; any device).

All models share an unpenalized part: an intercept and ``covariates`` (the element counts: the "dressed atom"
energies, which carry most of the ~240 kcal/mol spread of QM9's atomization energies), then

- ``ridge``: ridge regression on the features (standardized after the covariates are projected out);
- ``quadratic``: the degree-2 ("bilinear") model of Eickenberg et al. (J. Chem. Phys. 148, 241732, 2018, §III.B):
  ridge on the features and the products ``p_a p_b`` (``a ≤ b ≤ k``) of their ``k`` leading principal components;
- ``kernel``: the ridge model, then kernel ridge regression (Gaussian ``rbf`` or ``laplacian`` kernel, width in
  units of the median distance between training molecules) of its residuals.

Exact LOO for every ridge parameter from one factorization (Allen 1974, PRESS; Golub, Heath & Wahba 1979): with
the SVD ``Z = U S Vᵀ`` of the penalized features and ``Q`` an orthonormal basis of the unpenalized columns, the
hat matrix is ``H = Q Qᵀ + U diag(s²/(s² + α)) Uᵀ`` and the LOO residual ``e_i / (1 − H_ii)``; both
``e`` and ``1 − H_ii`` are formed from ``α/(s² + α)`` (no cancellation, so ``α → 0`` and ``F > n`` stay exact).
For kernel ridge the same holds with ``K = V Λ Vᵀ``: the LOO residual is ``c_i / [(K + α)⁻¹]_ii`` (Rifkin & Lippert,
"Notes on regularized least squares", MIT-CSAIL-TR-2007-025, §4) — one eigendecomposition per width gives every α.
Ridge parameters are relative to the largest eigenvalue (``α_rel · s_max²``), a scale-free log grid.

Large training sets: the kernel's width and α are chosen on the first ``select_max`` molecules (4,000; the training
sets of a learning curve are nested prefixes, so one search serves all larger sizes), then the kernel system of
all of them is solved by a Cholesky factorization in place (``n² · 8`` bytes: 3.2 GB at n = 20,000).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..errors import ConfigError

__all__ = [
    "ALPHAS", "MODELS", "KernelRidge", "QuadraticRidge", "RidgeRegression", "errors", "fit_regressor", "kernel_matrix",
    "loo_residuals", "median_distance",
]

#: The regressors of :func:`fit_regressor`.
MODELS = ("ridge", "quadratic", "kernel")

#: Relative ridge parameters (× the largest eigenvalue): a log grid, half decades from 1e-14 to 10.
ALPHAS = tuple(float(a) for a in 10.0 ** np.arange(-14, 1.01, 0.5))


def loo_residuals(U: torch.Tensor, s2: torch.Tensor, y: torch.Tensor, h_free: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """Exact LOO residuals of ridge regression for every α (module docstring).

    Args:
        U: ``(n, r)`` orthonormal columns; s2: ``(r,)`` their eigenvalues (squared singular values).
        y: ``(n,)`` targets with the unpenalized part projected out; h_free: ``(n,)`` the leverage of that part.
        alphas: ``(A,)`` absolute ridge parameters.
    Returns:
        ``(n, A)``: ``y_i − ŷ_{−i}`` for each α.
    """
    g = alphas / (s2[:, None] + alphas)  # (r, A) = 1 − shrinkage
    uy = U.T @ y
    if U.shape[1] + round(float(h_free.sum())) >= len(y):  # U and the free part (rank Σ h) span all: nothing outside
        outside_y, outside_h = torch.zeros_like(y), torch.zeros_like(y)
    else:
        outside_y = y - U @ uy  # the part of y outside span(U) (and the free part)
        outside_h = (1.0 - h_free - (U * U).sum(1)).clamp_min(0)
    residual = outside_y[:, None] + U @ (g * uy[:, None])
    denominator = outside_h[:, None] + (U * U) @ g
    return residual / denominator.clamp_min(torch.finfo(y.dtype).tiny)


class _Affine:
    """The unpenalized part: the columns ``A = [1, covariates]`` and an orthonormal basis ``Q`` of their span (by SVD,
    so that a covariate that never varies — an element absent from the training set — adds no direction)."""

    def __init__(self, covariates, n: int, like: torch.Tensor) -> None:
        self.columns = self.design(covariates, n, like)
        U, s, _ = torch.linalg.svd(self.columns, full_matrices=False)
        self.Q = U[:, s > s.max() * max(self.columns.shape) * torch.finfo(s.dtype).eps]

    def project_out(self, M: torch.Tensor) -> torch.Tensor:
        return M - self.Q @ (self.Q.T @ M)

    def residual_scale(self, M: torch.Tensor) -> torch.Tensor:
        """The spread of each column of ``M`` once its least-squares fit on the columns is taken out; ``∞`` for a
        column that the covariates explain whole (round-off left: it drops out of a design divided by it)."""
        if M.shape[1] == 0:
            return M.new_ones(0)
        spread = self.project_out(M).std(0)
        dead = spread <= 1e-9 * (M - M.mean(0)).abs().amax(0)
        return torch.where(dead, torch.full_like(spread, float("inf")), spread)

    @staticmethod
    def design(covariates, n: int, like: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(n, 1, dtype=like.dtype, device=like.device)
        return ones if covariates is None else torch.cat([ones, _as_tensor(covariates, like.device)], 1)


def _as_tensor(X, device=None, keep_float32: bool = False) -> torch.Tensor:
    """float64 (or, with ``keep_float32``, float32 left as it is) tensor on ``device``."""
    if not isinstance(X, torch.Tensor):
        X = torch.from_numpy(np.asarray(X))
    dtype = X.dtype if keep_float32 and X.dtype == torch.float32 else torch.float64
    return X.to(dtype=dtype, device=device)


def _scale(M: torch.Tensor) -> torch.Tensor:
    """Each column's standard deviation (1 where it is 0)."""
    if M.shape[1] == 0:
        return torch.ones(0, dtype=M.dtype, device=M.device)
    s = M.std(0)
    return torch.where(s > 0, s, torch.ones_like(s))


class RidgeRegression:
    """Ridge on standardized features plus an unpenalized intercept and covariates; α by exact LOO (mean absolute).

    The model is ``y = a β + z w`` with ``a = [1, c]`` (intercept, covariates), ``z = (x − mean) / scale``, ``scale``
    the spread of each feature once its least-squares fit on the covariates is taken out (what the penalty sees;
    a feature the covariates explain whole drops out), ``β`` free and ``α |w|²`` the penalty.

    Args:
        alphas: relative ridge parameters (× the largest eigenvalue of the penalized design).
        device: where the factorizations run (None: the CPU, or the input's device for tensors).
    Attributes (after ``fit``): ``best_params_`` (``{"alpha": relative α}``), ``loo_mae_`` (at the best α, in the
        units of y), ``loo_curve_`` (``(A,)`` numpy, LOO MAE per α), ``loo_residuals_`` (``(n,)`` at the best α).
    """

    def __init__(self, alphas: Sequence[float] = ALPHAS, device: str | None = None) -> None:
        self.alphas = tuple(float(a) for a in alphas)
        if not self.alphas or min(self.alphas) <= 0:
            raise ValueError(f"alphas must be positive, got {list(alphas)}")
        self.device = device

    # -- the penalized design: a fixed map of the features (and covariates) once fitted ---------------------
    def _fit_design(self, X: torch.Tensor, affine: _Affine) -> None:
        self.mean_ = X.mean(0)
        self.scale_ = affine.residual_scale(X)

    def design(self, X: torch.Tensor) -> torch.Tensor:
        """``(n, F)`` features → ``(n, D)`` the penalized columns."""
        return (X - self.mean_) / self.scale_

    # -- fit / predict --------------------------------------------------------------------------------------
    def fit(self, X, y, covariates=None) -> "RidgeRegression":
        """``X (n, F)``, ``y (n,)``, ``covariates (n, k)`` or None (numpy arrays or tensors)."""
        X = _as_tensor(X, self.device)
        y = _as_tensor(y, X.device)
        affine = _Affine(covariates, len(y), X)
        self._fit_design(X, affine)
        self._solve(self.design(X), y, affine)
        return self

    def _solve(self, D: torch.Tensor, y: torch.Tensor, affine: _Affine) -> None:
        self.covariates_ = affine.columns.shape[1] - 1
        h_free = (affine.Q * affine.Q).sum(1)
        yr = affine.project_out(y[:, None])[:, 0]
        Dr = affine.project_out(D)
        U, s, Vt = torch.linalg.svd(Dr, full_matrices=False)
        # numerical rank: taking the free part out of D leaves round-off of the order of eps |D| (D's columns keep
        # the composition's part, up to 10⁴ here), which is no direction of the data
        tolerance = max(Dr.shape) * torch.finfo(s.dtype).eps * float(torch.linalg.matrix_norm(D)) if len(s) else 0.0
        keep = s > tolerance
        U, s, Vt = U[:, keep], s[keep], Vt[keep]
        s2 = s * s
        if len(s):
            alphas = torch.tensor(self.alphas, dtype=y.dtype, device=y.device) * s2.max()
            loo = loo_residuals(U, s2, yr, h_free, alphas)
        else:  # nothing penalized: least squares on the free part, its exact LOO
            alphas = torch.ones(len(self.alphas), dtype=y.dtype, device=y.device)
            loo = (yr / (1 - h_free).clamp_min(torch.finfo(y.dtype).eps))[:, None].expand(-1, len(self.alphas))
        self.loo_curve_ = loo.abs().mean(0).cpu().numpy()
        best = int(np.argmin(self.loo_curve_))
        self.loo_mae_ = float(self.loo_curve_[best])
        self.best_params_ = {"alpha": self.alphas[best] if len(s) else float("nan")}
        self.loo_residuals_ = loo[:, best].cpu().numpy()
        self.coef_ = Vt.T @ ((s / (s2 + alphas[best])) * (U.T @ yr))
        self.free_ = torch.linalg.pinv(affine.columns) @ (y - D @ self.coef_)

    def predict(self, X, covariates=None) -> np.ndarray:
        """Predictions ``(n,)`` (numpy float64) for new features and their covariates (as in ``fit``)."""
        X = _as_tensor(X, self.mean_.device)
        if self.covariates_ and covariates is None:
            raise ValueError(f"this model was fitted with {self.covariates_} covariates: pass them to predict")
        A = _Affine.design(covariates if self.covariates_ else None, len(X), X)
        return (self.design(X) @ self.coef_ + A @ self.free_).cpu().numpy()


class QuadraticRidge(RidgeRegression):
    """The degree-2 model: ridge on ``[z, (p_a p_b / scale_ab)_{a ≤ b < k}]`` with ``z`` the design of
    :class:`RidgeRegression` and ``p = z V_k`` the scores on its ``k`` leading principal directions (those of ``z``
    once the covariates' fit is taken out); ``k`` from ``ranks`` and α by exact LOO (one SVD per k). The scores keep
    the composition's part, so the products hold composition × structure terms too. Eickenberg et al. (2018) fit
    the products through a degree-2 polynomial kernel; the explicit products of the leading components keep the
    cost linear in n. (Measured on QM9 at N = 5,000: 2.7 kcal/mol with these scores, 3.3 with scores of the
    covariate-free features; clipping new molecules' columns to the training range, tried against extrapolation,
    breaks the cancellations between nearly collinear columns that the fit relies on: errors of 10⁴ kcal/mol.)

    Args:
        ranks: candidate numbers of components. alphas, device: as :class:`RidgeRegression`.
    Attributes: as :class:`RidgeRegression`; ``best_params_`` adds ``rank``.
    """

    def __init__(self, ranks: Sequence[int] = (10, 20, 40, 60, 80), alphas: Sequence[float] = ALPHAS,
                 device: str | None = None) -> None:
        super().__init__(alphas, device)
        self.ranks = tuple(sorted({int(k) for k in ranks}))
        if not self.ranks or self.ranks[0] < 1:
            raise ValueError(f"ranks must be positive integers, got {list(ranks)}")

    def _products(self, z: torch.Tensor) -> torch.Tensor:
        p = z @ self.components_[:, : self.rank_]
        a, b = torch.triu_indices(self.rank_, self.rank_, device=z.device)
        return p[:, a] * p[:, b]

    def design(self, X: torch.Tensor) -> torch.Tensor:
        """The penalized columns ``[z, products]``."""
        z = super().design(X)
        return torch.cat([z, self._products(z) / self.product_scale_], 1)

    def fit(self, X, y, covariates=None) -> "QuadraticRidge":
        X = _as_tensor(X, self.device)
        y = _as_tensor(y, X.device)
        affine = _Affine(covariates, len(y), X)
        self._fit_design(X, affine)
        z = super().design(X)
        self.components_ = torch.linalg.svd(affine.project_out(z), full_matrices=False).Vh[: self.ranks[-1]].T
        best = None
        for k in sorted({min(k, self.components_.shape[1]) for k in self.ranks}):
            self.rank_ = k
            self.product_scale_ = affine.residual_scale(self._products(z))
            self._solve(self.design(X), y, affine)
            if best is None or self.loo_mae_ < best["loo_mae_"]:
                best = {key: getattr(self, key) for key in (
                    "loo_mae_", "rank_", "product_scale_", "coef_", "free_",
                    "best_params_", "loo_curve_", "loo_residuals_")}
        for key, value in best.items():
            setattr(self, key, value)
        self.best_params_ = {**self.best_params_, "rank": self.rank_}
        return self


def kernel_matrix(A: torch.Tensor, B: torch.Tensor, kernel: str, width: float, block: int = 2048) -> torch.Tensor:
    """``(n, m)`` float64 kernel between the rows of ``A`` and ``B``: ``rbf`` ``exp(−|a − b|² / 2w²)`` or ``laplacian``
    ``exp(−|a − b|₁ / w)``, computed in blocks of ``block`` rows of each (float32 inputs are promoted block by block,
    so a wide descriptor stored in float32 never exists in float64 whole). Raises ValueError for another name."""
    if kernel not in ("rbf", "laplacian"):
        raise ValueError(f"kernel must be rbf or laplacian, got {kernel!r}")
    out = torch.empty(len(A), len(B), dtype=torch.float64, device=A.device)
    for i in range(0, len(A), block):
        a = A[i : i + block].double()
        for j in range(0, len(B), block):
            b = B[j : j + block].double()
            if kernel == "rbf":
                d = torch.cdist(a, b, compute_mode="use_mm_for_euclid_dist").square_().mul_(-0.5 / width**2)
            else:
                d = torch.cdist(a, b, p=1.0).mul_(-1.0 / width)
            out[i : i + block, j : j + block] = d.exp_()
    return out


def median_distance(A: torch.Tensor, kernel: str, sample: int = 1000) -> float:
    """The median distance (Euclidean for ``rbf``, Manhattan for ``laplacian``) between the first ``sample`` rows."""
    part = A[:sample].double()
    d = torch.cdist(part, part, p=2.0 if kernel == "rbf" else 1.0)
    off = d[~torch.eye(len(part), dtype=torch.bool, device=A.device)]
    value = float(off.median()) if off.numel() else 1.0
    return value if value > 0 else 1.0


class KernelRidge:
    """The ridge model (:class:`RidgeRegression`, its α by LOO) and kernel ridge regression of its residuals.

    Width and α of the kernel by exact LOO (one eigendecomposition per width, every α) on the first
    ``select_max`` training molecules; the kernel system of all of them is then solved by Cholesky.

    Args:
        kernel: ``rbf`` or ``laplacian``. widths: in units of the median distance between training molecules.
        alphas: relative ridge parameters of the kernel (× its largest eigenvalue on the selection set).
        linear_alphas: those of the linear part (:class:`RidgeRegression`).
        standardize: the kernel sees the standardized features of the linear part (True) or the raw ones.
        linear: the linear part is the ridge on the features (True), or only the intercept and covariates (False:
            the "dressed atom" energies, as kernel models of QM9 usually have it).
        select_max: molecules of the hyper-parameter search. device: as :class:`RidgeRegression`.
        chosen: the :attr:`selection_` of an earlier fit on the same first ``select_max`` molecules (a learning
            curve's larger sizes): the search is skipped.
    Attributes (after ``fit``): ``best_params_`` (``alpha``, ``width`` (relative), ``linear_alpha``), ``loo_mae_``
        (the kernel stage's LOO MAE on the selection set, the linear part given).
    Raises:
        ValueError: an unknown kernel, empty widths.
    """

    def __init__(self, kernel: str = "rbf", widths: Sequence[float] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0),
                 alphas: Sequence[float] = ALPHAS, linear_alphas: Sequence[float] = ALPHAS, standardize: bool = True,
                 linear: bool = True, select_max: int = 4000, device: str | None = None,
                 chosen: dict | None = None) -> None:
        if kernel not in ("rbf", "laplacian"):
            raise ValueError(f"kernel must be rbf or laplacian, got {kernel!r}")
        if not widths or min(widths) <= 0:
            raise ValueError(f"widths must be positive, got {list(widths)}")
        self.kernel, self.widths, self.alphas = kernel, tuple(float(w) for w in widths), tuple(float(a) for a in alphas)
        self.linear_alphas = tuple(float(a) for a in linear_alphas)
        self.standardize, self.select_max, self.device = bool(standardize), int(select_max), device
        self.chosen, self.linear = chosen, bool(linear)

    def _inputs(self, X: torch.Tensor) -> torch.Tensor:
        return (X - self.mean_) / self.scale_ if self.standardize else X

    def _linear_inputs(self, X: torch.Tensor) -> torch.Tensor:
        """The linear part's features: all of them (float64), or none (intercept and covariates only)."""
        return X.double() if self.linear else X.new_zeros(len(X), 0, dtype=torch.float64)

    def fit(self, X, y, covariates=None) -> "KernelRidge":
        X = _as_tensor(X, self.device, keep_float32=True)
        y = _as_tensor(y, X.device)
        self.linear_ = RidgeRegression(self.linear_alphas, self.device).fit(self._linear_inputs(X), y, covariates)
        residual = y - _as_tensor(self.linear_.predict(self._linear_inputs(X), covariates), X.device)
        if self.standardize:
            self.mean_, self.scale_ = X.double().mean(0), _scale(X.double())
        inputs = self._inputs(X)
        m = min(len(y), self.select_max)
        if self.chosen is not None and m < len(y):
            self.selection_ = dict(self.chosen)
        else:
            self.selection_ = self._select(inputs[:m], residual[:m], len(y))
        self.loo_mae_, self.width_, self.alpha_ = (self.selection_[k] for k in ("loo_mae", "width", "alpha"))
        self.best_params_ = {**self.selection_["params"], "linear_alpha": self.linear_.best_params_["alpha"]}
        coefficients = self.selection_.pop("coefficients", None)
        if coefficients is None:  # all molecules: (K + α) c = r by Cholesky, in place
            K = kernel_matrix(inputs, inputs, self.kernel, self.width_)
            K.diagonal().add_(self.alpha_)
            # K is symmetric, so K.mT is a column-major view of it: LAPACK factors it where it lies (U = Lᵀ) and the
            # triangular solves read it there (cholesky(K, out=K) and cholesky_solve each made an n × n copy)
            U = K.mT
            torch.linalg.cholesky(U, upper=True, out=U)
            z = torch.linalg.solve_triangular(U.mT, residual[:, None], upper=False)
            coefficients = torch.linalg.solve_triangular(U, z, upper=True)[:, 0]
            del K, U
        self.coef_, self.train_ = coefficients, inputs
        return self

    def _select(self, inputs: torch.Tensor, residual: torch.Tensor, n: int) -> dict:
        """Width and α by exact LOO on these molecules: ``{"loo_mae", "width", "alpha"}`` (absolute), ``params``
        (relative), and the coefficients when these are all ``n`` training molecules."""
        y = residual
        median = median_distance(inputs, self.kernel)
        best = None
        for width in self.widths:
            lam, V = torch.linalg.eigh(kernel_matrix(inputs, inputs, self.kernel, width * median))
            alphas = torch.tensor(self.alphas, dtype=y.dtype, device=y.device) * lam.max()
            weights = 1.0 / (lam[:, None] + alphas)  # (m, A)
            c = V @ (weights * (V.T @ y)[:, None])
            loo = (c / ((V * V) @ weights)).abs().mean(0).cpu().numpy()
            i = int(np.argmin(loo))
            if best is None or loo[i] < best["loo_mae"]:
                best = {"loo_mae": float(loo[i]), "width": width * median, "alpha": float(alphas[i]),
                        "params": {"alpha": self.alphas[i], "width": width}}
                if len(y) == n:
                    best["coefficients"] = c[:, i]
            del V
        return best

    def predict(self, X, covariates=None, block: int = 4096) -> np.ndarray:
        """Predictions ``(n,)`` numpy float64 (test kernels in blocks of ``block`` rows)."""
        X = _as_tensor(X, self.train_.device, keep_float32=True)
        inputs = self._inputs(X)
        kernel_part = torch.cat([kernel_matrix(inputs[i : i + block], self.train_, self.kernel, self.width_) @ self.coef_
                                 for i in range(0, len(X), block)]) if len(X) else torch.zeros(0, dtype=torch.float64)
        return self.linear_.predict(self._linear_inputs(X), covariates) + kernel_part.cpu().numpy()


def fit_regressor(model: str, X, y, covariates=None, **options):
    """Fit ``model`` (one of :data:`MODELS`) on ``X (n, F)``, ``y (n,)`` with unpenalized ``covariates (n, k)``.

    ``options`` go to the model's constructor (``alphas``; ``ranks`` for ``quadratic``; ``kernel``, ``widths``,
    ``standardize``, ``select_max`` for ``kernel``; ``device``). Returns the fitted model (``predict``,
    ``best_params_``, ``loo_mae_``).

    Raises:
        ConfigError: ``regression.models`` — an unknown model; ``regression`` — a bad option, fewer than 3 molecules.
    """
    builders = {"ridge": RidgeRegression, "quadratic": QuadraticRidge, "kernel": KernelRidge}
    if model not in builders:
        raise ConfigError("regression.models", f"unknown model {model!r}; choose from {list(MODELS)}")
    if len(y) < 3:
        raise ConfigError("regression", f"{len(y)} training molecules are too few")
    import inspect

    accepted = inspect.signature(builders[model]).parameters
    try:
        estimator = builders[model](**{k: v for k, v in options.items() if k in accepted})
    except ValueError as error:
        raise ConfigError("regression", str(error)) from None
    return estimator.fit(X, y, covariates)


def errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """``{"mae": …, "rmse": …}`` in the units of ``y`` (kcal/mol)."""
    d = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    return {"mae": float(np.abs(d).mean()), "rmse": float(np.sqrt((d * d).mean()))}
