"""``python regress.py [+experiment=qm9] [data.num_train=N] [key=value …]`` / ``gennet-regress``: atomization
energies of QM9 molecules regressed on solid harmonic scattering invariants, beside the field's baselines.

Steps: check the config and the optional extras (qm9pack, qmllib/dscribe for the baselines named) → read QM9
(``data.cache_dir`` keeps a parsed copy; ``data.npz`` reads a compact copy instead) → the seeded split, first
``data.num_train`` / ``data.num_test`` molecules → check every molecule fits the grid → features (batched, progress
bar, cached in ``data.cache_dir`` keyed by all parameters; ``data.time_first`` molecules first, timed) → the
baselines' descriptors → ridge, quadratic and kernel models (hyper-parameters by exact leave-one-out, element counts
unpenalized) at each size of ``data.curve`` → errors on the test set → the rotation spread of predictions.
Outputs in the Hydra run directory (``hydra.run.dir=…``)::

    metrics.json            MAE / RMSE (kcal/mol) of every descriptor/model at the largest training size, the
                            rotation spread, the curve's slope, the features' seconds per molecule, the sizes
    learning_curve.json     every fit: descriptor, model, num_train, mae, rmse, loo_mae, chosen hyper-parameters
    learning_curve.png      test MAE against training size (log-log)
    predictions.png         predicted against true energies at the largest size

Keys: ``gennet/conf/regress.yaml``; ``+experiment=qm9`` is the CPU learning curve 1,000 … 20,000 (2,000 test) with
the baselines, ``+experiment=qm9_full`` all 110,000 training molecules on a GPU.
Bad input (a missing extra, config values, a malformed molecule, a grid too small for a molecule): one
``error: <key>: …`` line, exit 2, before any feature is computed; an earlier run's outputs are never overwritten.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, ListConfig

from ..errors import ConfigError, check_int
from ..files import write_text_atomic
from .devices import device_for
from .errors import user_errors
from .startup import check_output_dir, claimed, entry_point, writing

__all__ = ["main", "regress"]

#: The ``gennet/conf/`` folder at the repository root.
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf")

SCATTERING = "scattering"


def _sizes(cfg: DictConfig) -> list[int]:
    """The training sizes: the entries of ``data.curve`` below ``data.num_train``, and ``data.num_train`` (so
    ``+experiment=qm9 data.num_train=2000`` runs 1,000 / 2,000)."""
    num_train = check_int("data.num_train", cfg.data.num_train, 10)
    check_int("data.num_test", cfg.data.num_test, 1)
    curve = cfg.data.get("curve")
    if curve is None:
        return [num_train]
    if not isinstance(curve, (list, ListConfig)) or not curve:
        raise ConfigError("data.curve", f"a list of training sizes or null, got {curve!r}")
    sizes = {check_int("data.curve", n, 10) for n in curve}
    return sorted({n for n in sizes if n < num_train} | {num_train})


def _features(cfg: DictConfig, device: torch.device):
    from hydra.utils import instantiate

    from ..molecules import ScatteringFeatures

    try:
        features = instantiate(cfg.features, device=str(device), _convert_="all")
    except Exception as error:  # noqa: BLE001 - a constructor's refusal names its argument
        cause = error.__cause__ or error
        if isinstance(cause, (ValueError, TypeError)):
            text = str(cause).splitlines()[0]
            key, _, message = text.partition(": ")
            raise ConfigError(f"features.{key}" if message else "features", message or text) from None
        raise
    if not isinstance(features, ScatteringFeatures):
        raise ConfigError("features._target_", "must build a gennet.molecules.ScatteringFeatures")
    return features


def _numbers(key: str, values, integer: bool = False) -> list:
    """A non-empty list of positive numbers (integers with ``integer``), else ``ConfigError(key, …)``."""
    kind = int if integer else (int, float)
    if not isinstance(values, (list, ListConfig)) or not values or any(
            isinstance(v, bool) or not isinstance(v, kind) or v <= 0 for v in values):
        raise ConfigError(key, f"a non-empty list of positive {'integers' if integer else 'numbers'}, got {values!r}")
    return list(values)


def _fit_options(cfg: DictConfig) -> dict:
    """The models' options from ``regression`` (validated)."""
    reg = cfg.regression
    if reg.kernel not in ("rbf", "laplacian"):
        raise ConfigError("regression.kernel", f"rbf or laplacian, got {reg.kernel!r}")
    options = {"ranks": _numbers("regression.ranks", reg.ranks, integer=True), "kernel": reg.kernel,
               "widths": _numbers("regression.widths", reg.widths),
               "select_max": check_int("regression.select_max", reg.select_max, 10)}
    if reg.get("alphas") is not None:
        options["alphas"] = _numbers("regression.alphas", reg.alphas)
    return options


def _validate(cfg: DictConfig) -> dict:
    """Every check that needs no data; returns the pieces the run needs."""
    from ..molecules.baselines import require
    from ..molecules.qm9 import qm9_csv_files
    from ..molecules.regression import MODELS

    if cfg.data.get("name", "qm9") != "qm9":
        raise ConfigError("data.name", f"only qm9 is available, got {cfg.data.name!r}")
    sizes = _sizes(cfg)
    chosen = list(cfg.regression.models or [])
    bad = [m for m in chosen if m not in MODELS]
    if bad or not chosen:
        raise ConfigError("regression.models", f"unknown model {bad[0]!r}; choose from {list(MODELS)}" if bad
                          else f"name at least one model {list(MODELS)}")
    options = _fit_options(cfg)
    baselines = dict(cfg.get("baselines") or {})
    for name, kernel in baselines.items():
        try:
            require(name)
        except ConfigError as error:
            raise ConfigError(f"baselines.{name}", error.message) from None
        if kernel not in ("rbf", "laplacian"):
            raise ConfigError(f"baselines.{name}", f"the kernel: rbf or laplacian, got {kernel!r}")
    stability = cfg.get("stability") or {}
    molecules = check_int("stability.molecules", stability.get("molecules", 0), 0)
    rotations = check_int("stability.rotations", stability.get("rotations", 5), 2)
    molecules = min(molecules, int(cfg.data.num_test))  # the first test molecules
    check_int("data.time_first", cfg.data.get("time_first") or 0, 0)
    if cfg.data.get("cache_dir") is not None:  # before 15 s of parsing, not after
        check_output_dir("data.cache_dir", cfg.data.cache_dir)
    device = device_for(str(cfg.device))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", f"{cfg.device!r} asked for CUDA, which is not available here")
    if cfg.threads is not None:
        torch.set_num_threads(check_int("threads", cfg.threads, 1))
    if cfg.data.get("npz") is None:
        qm9_csv_files()  # the extra
    elif not Path(str(cfg.data.npz)).is_file():
        raise ConfigError("data.npz", f"no such file: {cfg.data.npz}")
    return {"sizes": sizes, "models": chosen, "options": options, "baselines": baselines, "device": device,
            "features": _features(cfg, device), "stability": (molecules, rotations)}


def _refuse_existing(run_dir: Path) -> None:
    if (run_dir / "metrics.json").exists():
        raise ConfigError("hydra.run.dir", f"'{run_dir}' already holds a run (metrics.json); choose another directory")


def _scattering(features, data, rows: np.ndarray, cache_dir, time_first: int) -> tuple[np.ndarray, dict]:
    """The features of ``rows``; the first ``time_first`` computed (and timed, with an estimate of the rest) first."""
    timing = {"molecules": 0, "wall_s": 0.0, "cpu_s": 0.0}
    first = min(int(time_first), len(rows))
    parts = []
    for part in ((rows[:first], rows[first:]) if first else (rows,)):
        values = features.compute(data, part, cache_dir=cache_dir)
        parts.append(values)
        for key in timing:
            timing[key] += features.last_timing[key]
        if first and len(parts) == 1 and features.last_timing["molecules"]:
            t = features.last_timing
            print(f"features: the first {t['molecules']} molecules in {t['wall_s']:.1f} s "
                  f"({t['wall_s'] / t['molecules']:.4f} s/molecule); the other {len(rows) - first} need about "
                  f"{t['wall_s'] / t['molecules'] * (len(rows) - first) / 60:.1f} min", flush=True)
    return np.concatenate(parts), timing


def regress(cfg: DictConfig) -> dict:
    """Run one regression job from a composed config, its run directory claimed for the run (a second run into it stops
    in one line); returns the metrics written to ``metrics.json``."""
    with claimed(Path(cfg.paths.output_dir)):
        return _regress(cfg)


def _regress(cfg: DictConfig) -> dict:
    from ..molecules import load_qm9, make_split
    from ..molecules.baselines import compute_descriptor
    from ..molecules.features import element_counts
    from ..molecules.learning_curve import learning_curve, learning_rate
    from ..molecules.plots import plot_learning_curve, plot_predictions
    from ..molecules.qm9 import load_compact
    from ..molecules.stability import rotation_spread

    run_dir = Path(cfg.paths.output_dir)
    with user_errors():
        _refuse_existing(run_dir)
        plan = _validate(cfg)
        features = plan["features"]
        cache_dir = cfg.data.get("cache_dir")
        data = load_compact(cfg.data.npz) if cfg.data.get("npz") else load_qm9(cache_dir)
        split = make_split(len(data), seed=int(cfg.seed)).take(int(cfg.data.num_train), int(cfg.data.num_test))
        rows = np.concatenate([split.train, split.test])
        try:
            features.check(data, rows)
        except ValueError as error:
            raise ConfigError("features.shape", str(error).removeprefix("grid: ")) from None

    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(int(cfg.seed))
    X, timing = _scattering(features, data, rows, cache_dir, cfg.data.get("time_first") or 0)
    n_train = len(split.train)
    descriptors = {SCATTERING: (X[:n_train], X[n_train:])}
    models = {SCATTERING: plan["models"]}
    options = {SCATTERING: {**plan["options"], "device": str(plan["device"])}}
    for name, kernel in plan["baselines"].items():
        start = time.perf_counter()
        D = compute_descriptor(name, data.charges[rows], data.positions[rows], reference_charges=data.charges)
        timing[f"{name}_s"] = time.perf_counter() - start
        descriptors[name] = (D[:n_train], D[n_train:])
        models[name] = ["kernel"]
        options[name] = {**plan["options"], "kernel": kernel, "standardize": False, "linear": False,
                         "device": str(plan["device"])}
    counts = element_counts(data.charges[rows]).numpy()
    y_train, y_test = data.energy[split.train], data.energy[split.test]
    records, predictions, fitted = learning_curve(descriptors, y_train, y_test, plan["sizes"], models,
                                                  covariates=(counts[:n_train], counts[n_train:]), options=options,
                                                  keep=[SCATTERING])

    largest = plan["sizes"][-1]
    metrics = {f"{r['descriptor']}/{r['model']}/{k}": r[k] for r in records if r["num_train"] == largest
               for k in ("mae", "rmse", "loo_mae")}
    for model in plan["models"]:
        metrics[f"{SCATTERING}/{model}/slope"] = learning_rate(records, SCATTERING, model)
    molecules, rotations = plan["stability"]
    if molecules:
        test_rows = split.test[:molecules]
        z, p = data.charges[test_rows], data.positions[test_rows]
        for model in plan["models"]:
            estimator = fitted[f"{SCATTERING}/{model}"]
            spread = rotation_spread(lambda c, r: estimator.predict(features.transform(torch.from_numpy(c), torch.from_numpy(r)).numpy(),
                                                                     element_counts(c).numpy()), z, p, rotations, int(cfg.seed))
            metrics.update({f"{SCATTERING}/{model}/rotation_{k}": v for k, v in spread.items()})
    computed = timing["molecules"]
    metrics.update({
        "num_train": largest, "num_test": len(y_test), "units": "kcal/mol",
        "features/molecules_computed": computed,
        "features/seconds_per_molecule": timing["wall_s"] / computed if computed else None,
        "features/cpu_seconds_per_molecule": timing["cpu_s"] / computed if computed else None,
        "features/count": X.shape[1],
        **{f"baselines/{k}": v for k, v in timing.items() if k.endswith("_s") and k not in ("wall_s", "cpu_s")},
    })
    with writing("hydra.run.dir"):  # every result file, or none (a full disk: one line)
        write_text_atomic(run_dir / "learning_curve.json", json.dumps(records, indent=1) + "\n")
        plot_learning_curve(records, run_dir / "learning_curve.png")
        plot_predictions(y_test, predictions, run_dir / "predictions.png")
        write_text_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")

    print(f"\n{'descriptor':<11} {'model':<9} {'N_train':>8} {'MAE':>8} {'RMSE':>8} {'LOO MAE':>8}  (kcal/mol, {len(y_test)} test molecules)")
    for r in records:
        print(f"{r['descriptor']:<11} {r['model']:<9} {r['num_train']:>8} {r['mae']:>8.2f} {r['rmse']:>8.2f} {r['loo_mae']:>8.2f}")
    if molecules:
        for model in plan["models"]:
            print(f"rotation spread ({SCATTERING}/{model}): std {metrics[f'{SCATTERING}/{model}/rotation_std_mean']:.2e} kcal/mol "
                  f"mean, {metrics[f'{SCATTERING}/{model}/rotation_std_max']:.2e} max ({molecules} test molecules × {rotations} rotations)")
    if computed:
        print(f"features: {computed} molecules in {timing['wall_s']:.1f} s ({timing['wall_s'] / computed:.4f} s/molecule, {features.device})")
    else:
        print("features: all read from the cache")
    print(f"run directory   {run_dir.resolve()}")
    return metrics


@entry_point("regress")
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-regress`` and ``python regress.py``)."""
    regress(cfg)


if __name__ == "__main__":
    main()
