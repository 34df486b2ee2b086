"""Test errors of regressors fitted on growing, nested training sets (a learning curve), and its slope.

Each descriptor (e.g. ``scattering``, ``coulomb``, ``bob``) is a pair of feature matrices (training rows in split
order, test rows); for every training size ``n`` the regressors of :func:`.regression.fit_regressor` are fitted on
the first ``n`` training rows (hyper-parameters by exact leave-one-out inside them, the element counts as
unpenalized covariates) and scored on the whole test set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .regression import errors, fit_regressor

__all__ = ["learning_curve", "learning_rate"]


def learning_curve(
    descriptors: Mapping[str, tuple[np.ndarray, np.ndarray]],
    y_train: np.ndarray,
    y_test: np.ndarray,
    sizes: Sequence[int],
    models: Mapping[str, Sequence[str]],
    covariates: tuple[np.ndarray, np.ndarray] | None = None,
    options: Mapping[str, Mapping] | None = None,
    keep: Sequence[str] = (),
    progress: bool = True,
    done: Sequence[dict] = (),
    on_record: Callable[[dict], None] | None = None,
) -> tuple[list[dict], dict[str, np.ndarray], dict]:
    """Fit and score every (descriptor, model) at every training size.

    Args:
        descriptors: ``name → (X_train (n_train, F), X_test (n_test, F))``.
        y_train, y_test: energies, kcal/mol.
        sizes: training sizes, each ``≤ n_train``.
        models: ``descriptor name → model names`` (``ridge``, ``quadratic``, ``kernel``).
        covariates: ``(C_train, C_test)`` unpenalized covariates of every model (the element counts), or None.
        options: ``descriptor name → keyword arguments`` of :func:`fit_regressor` (kernel, widths, standardize, …).
        keep: descriptors whose models fitted at the largest size are returned (others are freed as they go).
        done: records of an interrupted run (same data, sizes and options): their fits are not repeated, except those
            of ``keep`` at the largest size (their models and predictions are returned).
        on_record: called with each new record as soon as it exists (a long curve saves its progress).
    Returns:
        ``(records, predictions, fitted)``: one record per fit — ``descriptor, model, num_train, mae, rmse``
        (kcal/mol), ``loo_mae`` (the leave-one-out MAE on the training molecules), ``params`` (chosen
        hyper-parameters), ``fit_s`` (seconds) —, the test predictions at the largest size,
        ``"descriptor/model" → (n_test,)``, and the fitted models of ``keep`` at that size (same keys).
    Raises:
        ValueError: a size larger than the training set (``data.curve: …``).
    """
    from tqdm.auto import tqdm

    sizes = sorted(int(n) for n in sizes)
    if sizes and sizes[-1] > len(y_train):
        raise ValueError(f"data.curve: size {sizes[-1]} exceeds the {len(y_train)} training molecules")
    options = options or {}
    C_train, C_test = covariates if covariates is not None else (None, None)
    previous = {(r["num_train"], r["descriptor"], r["model"]): r for r in done}
    jobs = [(n, d, m) for n in sizes for d in descriptors for m in models.get(d, ())]
    records = [previous[job] for job in jobs if job in previous and not (job[0] == sizes[-1] and job[1] in keep)]
    jobs = [job for job in jobs if job not in previous or (job[0] == sizes[-1] and job[1] in keep)]
    predictions, fitted, selections = {}, {}, {}
    for n, name, model in tqdm(jobs, desc="regression", disable=not progress):
        X_train, X_test = descriptors[name]
        start = time.perf_counter()
        chosen = {"chosen": selections[name, model]} if (name, model) in selections else {}
        estimator = fit_regressor(model, X_train[:n], y_train[:n], None if C_train is None else C_train[:n],
                                  **options.get(name, {}), **chosen)
        if hasattr(estimator, "selection_") and n >= estimator.select_max:  # nested prefixes: one search serves all larger sizes
            selections[name, model] = estimator.selection_
        fit_s = time.perf_counter() - start
        predicted = estimator.predict(X_test, C_test)
        record = {"descriptor": name, "model": model, "num_train": n, **errors(y_test, predicted),
                  "loo_mae": float(estimator.loo_mae_),
                  "params": {k: float(v) for k, v in estimator.best_params_.items()}, "fit_s": round(fit_s, 2)}
        records.append(record)
        if on_record is not None:
            on_record(record)
        if n == sizes[-1]:
            predictions[f"{name}/{model}"] = predicted
            if name in keep:
                fitted[f"{name}/{model}"] = estimator
        del estimator
    return records, predictions, fitted


def learning_rate(records: Sequence[dict], descriptor: str, model: str, smallest: int = 0) -> float | None:
    """The slope ``b`` of ``log MAE = log a − b log N`` (least squares over the sizes ``≥ smallest``): the learning
    rate of the field's log-log curves (error ∝ N^−b). None with fewer than two sizes."""
    points = sorted((r["num_train"], r["mae"]) for r in records
                    if r["descriptor"] == descriptor and r["model"] == model and r["num_train"] >= smallest)
    if len(points) < 2:
        return None
    n, mae = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(-np.polyfit(n, mae, 1)[0])
