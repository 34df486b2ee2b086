"""Test errors of regressors fitted on growing, nested training sets (a learning curve).

Each descriptor (e.g. ``scattering``, ``coulomb``) is a pair of feature matrices (training rows in split order,
test rows); for every training size ``n`` the regressors of :func:`.regression.fit_regressor` are fitted on the
first ``n`` training rows (hyper-parameters by K-fold CV inside them) and scored on the whole test set.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np

from .regression import errors, fit_regressor

__all__ = ["learning_curve"]


def learning_curve(
    descriptors: Mapping[str, tuple[np.ndarray, np.ndarray]],
    y_train: np.ndarray,
    y_test: np.ndarray,
    sizes: Sequence[int],
    models: Mapping[str, Sequence[str]],
    progress: bool = True,
    **fit_options,
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Fit and score every (descriptor, model) at every training size.

    Args:
        descriptors: ``name → (X_train (n_train, F), X_test (n_test, F))``.
        y_train, y_test: energies, kcal/mol.
        sizes: training sizes, each ``≤ n_train`` (increasing).
        models: ``descriptor name → model names`` (``ridge``, ``kernel``).
        fit_options: passed to :func:`fit_regressor` (folds, seed, alphas, gammas, kernel).
    Returns:
        ``(records, predictions)``: one record per fit — ``descriptor, model, num_train, mae, rmse`` (kcal/mol),
        ``params`` (chosen hyper-parameters), ``fit_s`` (seconds) — and the test predictions at the largest size,
        ``"descriptor/model" → (n_test,)``.
    Raises:
        ValueError: a size larger than the training set (``data.curve: …``).
    """
    from tqdm.auto import tqdm

    sizes = sorted(int(n) for n in sizes)
    if sizes and sizes[-1] > len(y_train):
        raise ValueError(f"data.curve: size {sizes[-1]} exceeds the {len(y_train)} training molecules")
    jobs = [(n, d, m) for n in sizes for d in descriptors for m in models.get(d, ())]
    records, predictions = [], {}
    for n, name, model in tqdm(jobs, desc="regression", disable=not progress):
        X_train, X_test = descriptors[name]
        start = time.perf_counter()
        estimator = fit_regressor(model, X_train[:n], y_train[:n], **fit_options)
        fit_s = time.perf_counter() - start
        predicted = estimator.predict(X_test)
        record = {"descriptor": name, "model": model, "num_train": n, **errors(y_test, predicted),
                  "params": {k: float(v) for k, v in estimator.best_params_.items()}, "fit_s": round(fit_s, 2)}
        records.append(record)
        if n == sizes[-1]:
            predictions[f"{name}/{model}"] = predicted
    return records, predictions
