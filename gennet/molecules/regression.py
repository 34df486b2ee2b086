"""Regressors of molecular energies on invariant features, hyper-parameters by cross-validation on the
training set (scikit-learn: the regression is plumbing; it is imported lazily, an optional extra).

- ``ridge``: standardized features, ridge regression, ``alpha`` by K-fold CV (``RidgeCV``).
- ``kernel``: standardized features, a linear ridge fit plus kernel ridge regression (Gaussian ``rbf`` or
  ``laplacian`` kernel) of its residuals; ``alpha`` and ``gamma`` by K-fold grid search. The linear part
  carries the near-additive bulk of atomization energies (their spread, ~240 kcal/mol over QM9, mostly
  follows the atom counts); the kernel learns the rest (as kernel models of QM9 usually fit "dressed atom"
  residuals).

Both predict kcal/mol from ``(n, F)`` float64 features; :func:`fit_regressor` returns a fitted estimator with
``predict`` and ``best_params_`` (the chosen hyper-parameters).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError

__all__ = ["MODELS", "errors", "fit_regressor", "require_sklearn"]

#: The regressors of :func:`fit_regressor`.
MODELS = ("ridge", "kernel")


def require_sklearn() -> None:
    """Raise ``ConfigError("regression", …)`` (one line) when scikit-learn is missing."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ConfigError("regression", 'needs scikit-learn: pip install -e ".[chem]" (or pip install scikit-learn)') from None


def _residual_kernel_ridge():
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import Ridge

    class ResidualKernelRidge(RegressorMixin, BaseEstimator):
        """Ridge (``linear_alpha``) on ``X``, then kernel ridge (``alpha``, ``gamma``, ``kernel``) of the residuals."""

        def __init__(self, alpha=1e-3, gamma=None, kernel="rbf", linear_alpha=1e-3):
            self.alpha, self.gamma, self.kernel, self.linear_alpha = alpha, gamma, kernel, linear_alpha

        def fit(self, X, y):
            self.linear_ = Ridge(alpha=self.linear_alpha).fit(X, y)
            residual = y - self.linear_.predict(X)
            self.offset_ = residual.mean()
            self.kernel_ = KernelRidge(alpha=self.alpha, kernel=self.kernel, gamma=self.gamma).fit(X, residual - self.offset_)
            return self

        def predict(self, X):
            return self.linear_.predict(X) + self.offset_ + self.kernel_.predict(X)

    return ResidualKernelRidge


def fit_regressor(
    model: str,
    X: np.ndarray,
    y: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    alphas: Sequence[float] = (1e-5, 1e-3, 1e-1),
    gammas: Sequence[float] = (0.1, 0.3, 1.0, 3.0),
    kernel: str = "rbf",
    linear_alphas: Sequence[float] = (1e-8, 1e-6, 1e-4, 1e-2, 1.0, 100.0),
):
    """Fit ``model`` (``ridge`` or ``kernel``) on ``X (n, F)``, ``y (n,)`` kcal/mol with K-fold CV.

    ``gammas`` are in units of ``1 / F`` (the kernel sees standardized features, ``|x − x'|² ~ 2F``).
    The linear part's ``alpha`` of the kernel model is chosen first (``RidgeCV``), then ``alpha`` and ``gamma``.
    Returns a fitted estimator (``predict``, ``best_params_``).

    Raises:
        ConfigError: ``regression`` — scikit-learn missing, an unknown model or kernel, fewer molecules than folds.
    """
    require_sklearn()
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model not in MODELS:
        raise ConfigError("regression.models", f"unknown model {model!r}; choose from {list(MODELS)}")
    if kernel not in ("rbf", "laplacian"):
        raise ConfigError("regression.kernel", f"rbf or laplacian, got {kernel!r}")
    if len(X) < max(folds, 2) * 2:
        raise ConfigError("regression.folds", f"{len(X)} training molecules are too few for {folds}-fold cross-validation")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    cv = KFold(n_splits=folds, shuffle=True, random_state=seed)
    linear = make_pipeline(StandardScaler(), RidgeCV(alphas=list(linear_alphas), cv=cv)).fit(X, y)
    linear_alpha = float(linear[-1].alpha_)
    if model == "ridge":
        linear.best_params_ = {"alpha": linear_alpha}
        return linear
    estimator = make_pipeline(StandardScaler(), _residual_kernel_ridge()(kernel=kernel, linear_alpha=linear_alpha))
    grid = {
        "residualkernelridge__alpha": list(alphas),
        "residualkernelridge__gamma": [g / X.shape[1] for g in gammas],
    }
    search = GridSearchCV(estimator, grid, cv=cv, scoring="neg_mean_absolute_error", refit=True).fit(X, y)
    search.best_params_ = {k.split("__")[-1]: v for k, v in search.best_params_.items()} | {"linear_alpha": linear_alpha}
    return search


def errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """``{"mae": …, "rmse": …}`` in the units of ``y`` (kcal/mol)."""
    d = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    return {"mae": float(np.abs(d).mean()), "rmse": float(np.sqrt((d * d).mean()))}
