"""``python regress.py [+experiment=qm9] [data.num_train=N] [key=value …]`` / ``gennet-regress``: atomization
energies of QM9 molecules regressed on solid harmonic scattering invariants, beside the Coulomb-matrix baseline.

Steps: check the config and the optional extras (qm9pack, scikit-learn) → read QM9 (``data.cache_dir`` keeps a
parsed copy) → the seeded split, first ``data.num_train`` / ``data.num_test`` molecules → check every molecule
fits the grid → features (batched, progress bar, cached in ``data.cache_dir`` keyed by all parameters) →
ridge and kernel ridge (CV on the training set) at each size of ``data.curve`` → errors on the test set.
Outputs in the Hydra run directory (``hydra.run.dir=…``)::

    metrics.json            MAE / RMSE (kcal/mol) of every descriptor/model at the largest training size,
                            the features' seconds per molecule, the sizes
    learning_curve.json     every fit: descriptor, model, num_train, mae, rmse, chosen hyper-parameters
    learning_curve.png      test MAE against training size (log-log)
    predictions.png         predicted against true energies at the largest size

Keys: ``gennet/conf/regress.yaml``; ``+experiment=qm9`` is the CPU learning curve 1,000 / 2,000 / 5,000 (2,000 test).
Bad input (a missing extra, config values, a malformed molecule, a grid too small for a molecule): one
``error: <key>: …`` line, exit 2, before any feature is computed; an earlier run's outputs are never overwritten.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

from ..errors import ConfigError, check_int
from ..files import write_text_atomic
from .devices import device_for
from .errors import user_errors
from .startup import check_output_dir, claimed, entry_point, writing

__all__ = ["main", "regress"]

#: The ``gennet/conf/`` folder at the repository root.
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf")

DESCRIPTORS = ("scattering", "coulomb")


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


def _validate(cfg: DictConfig) -> dict:
    """Every check that needs no data; returns the pieces the run needs."""
    from ..molecules.qm9 import qm9_csv_files
    from ..molecules.regression import MODELS, require_sklearn

    if cfg.data.get("name", "qm9") != "qm9":
        raise ConfigError("data.name", f"only qm9 is available, got {cfg.data.name!r}")
    sizes = _sizes(cfg)
    models = {}
    for descriptor in DESCRIPTORS:
        key = "regression.models" if descriptor == "scattering" else "regression.baseline_models"
        chosen = list(cfg.regression.models if descriptor == "scattering" else (cfg.regression.baseline_models or []))
        bad = [m for m in chosen if m not in MODELS]
        if bad:
            raise ConfigError(key, f"unknown model {bad[0]!r}; choose from {list(MODELS)}")
        models[descriptor] = chosen
    if not models["scattering"]:
        raise ConfigError("regression.models", "name at least one model (ridge, kernel)")
    folds = check_int("regression.folds", cfg.regression.folds, 2, 20)
    if sizes[0] < 2 * folds:
        raise ConfigError("data.curve", f"the smallest training size ({sizes[0]}) is too small for {folds}-fold cross-validation")
    if cfg.regression.kernel not in ("rbf", "laplacian"):
        raise ConfigError("regression.kernel", f"rbf or laplacian, got {cfg.regression.kernel!r}")
    for key in ("alphas", "gammas"):
        values = cfg.regression[key]
        if not isinstance(values, (list, ListConfig)) or not values or any(not isinstance(v, (int, float)) or v <= 0 for v in values):
            raise ConfigError(f"regression.{key}", f"a non-empty list of positive numbers, got {values!r}")
    if cfg.data.get("cache_dir") is not None:  # before 15 s of parsing, not after
        check_output_dir("data.cache_dir", cfg.data.cache_dir)
    device = device_for(str(cfg.device))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", f"{cfg.device!r} asked for CUDA, which is not available here")
    if cfg.threads is not None:
        torch.set_num_threads(check_int("threads", cfg.threads, 1))
    qm9_csv_files()  # the extra
    require_sklearn()
    return {"sizes": sizes, "models": models, "device": device, "features": _features(cfg, device)}


def _refuse_existing(run_dir: Path) -> None:
    if (run_dir / "metrics.json").exists():
        raise ConfigError("hydra.run.dir", f"'{run_dir}' already holds a run (metrics.json); choose another directory")


def regress(cfg: DictConfig) -> dict:
    """Run one regression job from a composed config, its run directory claimed for the run (a second run into it stops
    in one line); returns the metrics written to ``metrics.json``."""
    with claimed(Path(cfg.paths.output_dir)):
        return _regress(cfg)


def _regress(cfg: DictConfig) -> dict:
    from ..molecules import coulomb_eigenvalues, load_qm9, make_split
    from ..molecules.learning_curve import learning_curve
    from ..molecules.plots import plot_learning_curve, plot_predictions

    run_dir = Path(cfg.paths.output_dir)
    with user_errors():
        _refuse_existing(run_dir)
        plan = _validate(cfg)
        features = plan["features"]
        cache_dir = cfg.data.get("cache_dir")
        data = load_qm9(cache_dir)
        split = make_split(len(data), seed=int(cfg.seed)).take(int(cfg.data.num_train), int(cfg.data.num_test))
        rows = np.concatenate([split.train, split.test])
        try:
            features.check(data, rows)
        except ValueError as error:
            raise ConfigError("features.shape", str(error).removeprefix("grid: ")) from None

    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(int(cfg.seed))
    X = features.compute(data, rows, cache_dir=cache_dir)
    timing = dict(features.last_timing)
    n_train = len(split.train)
    descriptors = {"scattering": (X[:n_train], X[n_train:])}
    if plan["models"]["coulomb"]:
        start = time.perf_counter()
        E = coulomb_eigenvalues(torch.from_numpy(data.charges[rows]), torch.from_numpy(data.positions[rows])).numpy()
        timing["coulomb_s"] = time.perf_counter() - start
        descriptors["coulomb"] = (E[:n_train], E[n_train:])
    y_train, y_test = data.energy[split.train], data.energy[split.test]
    fit = {k: (list(v) if isinstance(v, ListConfig) else v) for k, v in OmegaConf.to_container(cfg.regression).items()
           if k in ("folds", "alphas", "gammas", "kernel")}
    records, predictions = learning_curve(descriptors, y_train, y_test, plan["sizes"], plan["models"], seed=int(cfg.seed), **fit)

    largest = plan["sizes"][-1]
    metrics = {f"{r['descriptor']}/{r['model']}/{k}": r[k] for r in records if r["num_train"] == largest for k in ("mae", "rmse")}
    computed = timing["molecules"]
    metrics.update({
        "num_train": largest, "num_test": len(y_test), "units": "kcal/mol",
        "features/molecules_computed": computed,
        "features/seconds_per_molecule": timing["wall_s"] / computed if computed else None,
        "features/cpu_seconds_per_molecule": timing["cpu_s"] / computed if computed else None,
        "features/count": X.shape[1],
    })
    with writing("hydra.run.dir"):  # every result file, or none (a full disk: one line)
        write_text_atomic(run_dir / "learning_curve.json", json.dumps(records, indent=1) + "\n")
        plot_learning_curve(records, run_dir / "learning_curve.png")
        plot_predictions(y_test, predictions, run_dir / "predictions.png")
        write_text_atomic(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")

    print(f"\n{'descriptor':<11} {'model':<7} {'N_train':>8} {'MAE':>8} {'RMSE':>8}  (kcal/mol, {len(y_test)} test molecules)")
    for r in records:
        print(f"{r['descriptor']:<11} {r['model']:<7} {r['num_train']:>8} {r['mae']:>8.2f} {r['rmse']:>8.2f}")
    if computed:
        print(f"features: {computed} molecules in {timing['wall_s']:.1f} s ({timing['wall_s'] / computed:.3f} s/molecule, {features.device})")
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
