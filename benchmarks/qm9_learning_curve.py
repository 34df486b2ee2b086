"""QM9 learning curve: test MAE of the atomization energy U0 (kcal/mol) against the number of training molecules —
solid harmonic scattering invariants (ridge, the degree-2 model, kernel ridge) beside the field's descriptors
computed on the same seeded split (Coulomb-matrix eigenvalues, Bag of Bonds, SLATM, SOAP, each with kernel ridge),
the slope of each curve, the rotation spread of our predictions, the features' cold and warm times, and published
numbers quoted beside ours.

    python benchmarks/qm9_learning_curve.py                            # 1,000 … 20,000 train, 2,000 test (CPU: hours)
    python benchmarks/qm9_learning_curve.py --train 500 1000 --test 500 --baselines coulomb bob   # a quick look
    python benchmarks/qm9_learning_curve.py --features fast --models ridge kernel --train 1000 2000 5000 --baselines
    python benchmarks/qm9_learning_curve.py --device cuda:0 --full     # the whole split: 110,000 train (ridge, quadratic)
    python benchmarks/qm9_learning_curve.py --resume                   # go on with an interrupted run
    python benchmarks/qm9_learning_curve.py --report                   # table and plot of the fits it recorded
    python benchmarks/qm9_learning_curve.py --export-npz qm9.npz       # QM9 in one ~40 MB file, to carry where
    python benchmarks/qm9_learning_curve.py --qm9-npz qm9.npz …        #   qm9pack (a 100 MB wheel) cannot go

Features (``--features``: a file of ``gennet/conf/features/``) and descriptors are cached in ``--cache-dir``, keyed by
every parameter and the data: "cold" is the time recorded when they were computed, "warm" the time to read them
back. Every hyper-parameter is chosen by exact leave-one-out on the training molecules (kernels: on the first 4,000,
then one Cholesky on all), element counts unpenalized in every model (``gennet.molecules.regression``). Writes
``qm9_learning_curve.json`` / ``.png`` and ``qm9_predictions.png`` in ``--out``. Needs the chem extra
(``pip install -e ".[chem]"``: qm9pack, qmllib, dscribe).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]

#: Published results, quoted (not measured here). MAE of U0 / atomization energy in kcal/mol.
QUOTED = [
    {"label": "seed 001: scattering regression, full QM9 (~0.5)", "dataset": "QM9", "num_train": 110000, "mae": 0.5,
     "source": "seed 001 'Scattering Energy Regression' (Eickenberg, Exarchakis, Hirn, Poilvert, Thiry): ~0.5 kcal/mol ~ deep nets"},
    {"label": "Rupp 2012: CM eigenvalues + Gaussian KRR, QM7 (9.9)", "dataset": "QM7 (GDB-7, 7,165 molecules)", "num_train": 7000, "mae": 9.9,
     "source": "Rupp, Tkatchenko, Müller, von Lilienfeld, PRL 108, 058301 (2012)"},
    {"label": "kymatio example: scattering + linear ridge, QM7 (2.75)", "dataset": "QM7 (5-fold CV, ~5,700 train)", "num_train": 5700, "mae": 2.75,
     "source": "kymatio 0.3 example 3d/scattering3d_qm7.py (docstring), the method of Eickenberg et al., J. Chem. Phys. 148, 241732 (2018)"},
]

#: Each baseline's kernel: the one of its paper where the cost allows (README "Molecules (QM9)").
BASELINE_KERNELS = {"coulomb": "rbf", "bob": "laplacian", "slatm": "rbf", "soap": "rbf"}
SCATTERING = "scattering"


def _features(name: str, device: str, batch_size: int | None):
    """The ``ScatteringFeatures`` of ``gennet/conf/features/<name>.yaml``."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    path = REPO / "gennet" / "conf" / "features" / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"--features: no such preset {name!r} (gennet/conf/features/*.yaml)")
    overrides = {"device": device} | ({"batch_size": batch_size} if batch_size else {})
    return instantiate(OmegaConf.merge(OmegaConf.load(path), overrides), _convert_="all")


def _descriptor(name: str, data, rows: np.ndarray, cache_dir: Path) -> tuple[np.ndarray, dict]:
    """A baseline's descriptor of ``rows``, cached under ``cache_dir/baselines`` (keyed by the molecules)."""
    from gennet.molecules.baselines import compute_descriptor

    h = hashlib.sha256(f"{name}|1".encode())
    for array in (data.index[rows], data.charges[rows], data.positions[rows], data.charges):
        h.update(np.ascontiguousarray(array).tobytes())
    path = cache_dir / "baselines" / f"{name}-{h.hexdigest()[:20]}.npy"
    timing_path = path.with_suffix(".json")
    if path.is_file() and timing_path.is_file():
        start = time.perf_counter()
        values = np.load(path)
        return values, {**json.loads(timing_path.read_text()), "warm_s": time.perf_counter() - start, "source": "cache"}
    wall, cpu = time.perf_counter(), time.process_time()
    values = compute_descriptor(name, data.charges[rows], data.positions[rows], reference_charges=data.charges)
    timing = {"cold_wall_s": time.perf_counter() - wall, "cold_cpu_s": time.process_time() - cpu, "molecules": len(rows)}
    path.parent.mkdir(parents=True, exist_ok=True)
    if name == "slatm":  # 11,960 columns: float32 storage (1 GB for 22,000 molecules), promoted block by block
        values = values.astype(np.float32)
    np.save(path, values)
    timing_path.write_text(json.dumps(timing))
    return values, {**timing, "source": "this run"}


def _feature_times(features, data, rows, cache_dir) -> tuple[np.ndarray, dict]:
    """Our features of ``rows`` with their cold (computed) and warm (read back) times."""
    X = features.compute(data, rows, cache_dir=cache_dir)
    timing = dict(features.last_timing)
    source = "this run"
    if timing["molecules"] < len(rows) // 2:  # mostly cached: the cost recorded when the cache was filled
        timing = json.loads((Path(cache_dir) / f"scattering-{features._key(data)}" / "timing.json").read_text())
        source = "recorded in the cache when computed"
    start = time.perf_counter()
    features.compute(data, rows, cache_dir=cache_dir, progress=False)
    return X, {**timing, "source": source, "warm_s": time.perf_counter() - start}


def _table(records, sizes, columns) -> list[str]:
    mae = {(r["descriptor"], r["model"], r["num_train"]): r["mae"] for r in records}
    head = f"{'N_train':>8} " + " ".join(f"{d + '/' + m:>20}" for d, m in columns)
    lines = [head]
    for n in sizes:
        lines.append(f"{n:>8} " + " ".join(f"{mae.get((d, m, n), float('nan')):>20.2f}" for d, m in columns))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, nargs="+", default=[1000, 2000, 5000, 10000, 20000], help="training sizes (nested prefixes)")
    parser.add_argument("--test", type=int, default=2000, help="test molecules (a prefix of the seeded test split)")
    parser.add_argument("--full", action="store_true", help="the whole split: 110,000 training and 10,831 test molecules; ridge and quadratic")
    parser.add_argument("--features", default="reference", help="a preset of gennet/conf/features/ (reference, fast, reference_grid)")
    parser.add_argument("--models", nargs="+", default=["ridge", "quadratic", "kernel"])
    parser.add_argument("--baselines", nargs="*", default=list(BASELINE_KERNELS), help="from coulomb, bob, slatm, soap")
    parser.add_argument("--rotations", type=int, default=5)
    parser.add_argument("--rotation-molecules", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/gennet/molecules"))
    parser.add_argument("--out", default="outputs/benchmarks")
    parser.add_argument("--qm9-npz", default=None, help="read QM9 from this file of --export-npz instead of qm9pack")
    parser.add_argument("--export-npz", default=None, help="write QM9 (from qm9pack) to this compact file and stop")
    parser.add_argument("--resume", action="store_true",
                        help="skip the fits already recorded in --out by an interrupted run with the same settings")
    parser.add_argument("--report", action="store_true",
                        help="no fitting: the table, slopes and plot of the fits recorded in --out (an interrupted run)")
    parser.add_argument("--dry-run", type=int, default=None, metavar="N",
                        help="with --full: cap the training set at N and the test set at N // 2 (a rehearsal)")
    args = parser.parse_args(argv)
    begin = time.perf_counter()

    from gennet.errors import ConfigError
    from gennet.molecules import load_qm9, make_split
    from gennet.molecules.baselines import require
    from gennet.molecules.features import element_counts
    from gennet.molecules.learning_curve import learning_curve, learning_rate
    from gennet.molecules.plots import plot_learning_curve, plot_predictions
    from gennet.molecules.qm9 import load_compact, qm9_csv_files, save_compact
    from gennet.molecules.stability import rotation_spread

    try:
        if args.qm9_npz is None:
            qm9_csv_files()
        if args.export_npz:
            path = save_compact(load_qm9(args.cache_dir), args.export_npz)
            print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
            return 0
        for name in args.baselines:
            require(name)
        features = _features(args.features, args.device, args.batch_size)
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"error: --device: {args.device} asked for CUDA, which is not available here", file=sys.stderr)
        return 2
    start = time.perf_counter()
    data = load_compact(args.qm9_npz) if args.qm9_npz else load_qm9(args.cache_dir)
    load_s = time.perf_counter() - start
    split = make_split(len(data), seed=args.seed)
    models = {SCATTERING: list(args.models)}
    if args.full:
        sizes, num_test = [len(split.train)], len(split.test)
        if args.dry_run:
            sizes, num_test = [min(sizes[0], args.dry_run)], min(num_test, max(args.dry_run // 2, 1))
        models[SCATTERING] = [m for m in models[SCATTERING] if m != "kernel"]  # a 110k² kernel does not fit
        args.baselines = []
    else:
        sizes, num_test = sorted(args.train), args.test
    split = split.take(sizes[-1], num_test)
    rows = np.concatenate([split.train, split.test])
    n_train = len(split.train)
    cache_dir = Path(args.cache_dir)

    features.check(data, rows)
    X, feature_timing = _feature_times(features, data, rows, cache_dir)
    descriptors = {SCATTERING: (X[:n_train], X[n_train:])}
    options = {SCATTERING: {"device": args.device}}
    baseline_timing = {}
    for name in args.baselines:
        D, baseline_timing[name] = _descriptor(name, data, rows, cache_dir)
        descriptors[name] = (D[:n_train], D[n_train:])
        models[name] = ["kernel"]
        options[name] = {"kernel": BASELINE_KERNELS[name], "standardize": False, "linear": False, "device": args.device}
    counts = element_counts(data.charges[rows]).numpy()
    y_train, y_test = data.energy[split.train], data.energy[split.test]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    def run_key(descriptor: str) -> str:  # what a record depends on: a baseline's rows survive a change of our features
        what = [features.parameters() if descriptor == SCATTERING else descriptor, args.seed, len(y_test),
                BASELINE_KERNELS.get(descriptor)]
        return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]

    partial = out / "qm9_learning_curve.partial.jsonl"  # every fit as it ends: an interrupted run loses nothing
    done = []
    if (args.resume or args.report) and partial.is_file():
        done = [r for r in map(json.loads, partial.read_text().splitlines()) if r.pop("run", None) == run_key(r["descriptor"])]
        print(f"--resume: {len(done)} fits recorded in {partial}")
    elif partial.is_file():
        partial.unlink()

    def save(record: dict) -> None:
        with partial.open("a") as f:
            f.write(json.dumps({**record, "run": run_key(record["descriptor"])}) + "\n")

    start = time.perf_counter()
    if args.report:  # the recorded fits only: no models, so no predictions and no rotation check
        records, predictions, fitted, args.rotations = done, {}, {}, 0
    else:
        records, predictions, fitted = learning_curve(descriptors, y_train, y_test, sizes, models,
                                                      covariates=(counts[:n_train], counts[n_train:]), options=options,
                                                      keep=[SCATTERING], done=done, on_record=save)
    regression_s = sum(r["fit_s"] for r in records) if args.report else time.perf_counter() - start

    spreads = {}
    test_rows = split.test[: args.rotation_molecules]
    for model in models[SCATTERING] if args.rotations >= 2 and len(test_rows) else []:
        estimator = fitted[f"{SCATTERING}/{model}"]
        predict = lambda z, p, e=estimator: e.predict(  # noqa: E731
            features.transform(torch.from_numpy(z), torch.from_numpy(p)).numpy(), element_counts(z).numpy())
        spreads[model] = rotation_spread(predict, data.charges[test_rows], data.positions[test_rows], args.rotations, args.seed)

    columns = [(SCATTERING, m) for m in models[SCATTERING]] + [(b, "kernel") for b in args.baselines]
    slopes = {f"{d}/{m}": learning_rate(records, d, m) for d, m in columns}
    print(f"\nQM9 U0 atomization energy, test MAE (kcal/mol) on {len(y_test)} test molecules (seeded split, seed {args.seed})")
    print("\n".join(_table(records, sizes, columns)))
    print(f"{'slope':>8} " + " ".join(f"{slopes[f'{d}/{m}'] if slopes[f'{d}/{m}'] is not None else float('nan'):>20.2f}"
                                      for d, m in columns) + "   (MAE ∝ N^-slope, least squares over the sizes)")
    print("\nfits (LOO MAE on the training molecules, chosen hyper-parameters, seconds):")
    for r in records:
        print(f"  {r['descriptor']:<11} {r['model']:<9} {r['num_train']:>7}  test {r['mae']:6.2f}  LOO {r['loo_mae']:6.2f}  "
              f"{r['params']}  {r['fit_s']:.0f} s")
    for model, spread in spreads.items():
        print(f"rotation spread, {SCATTERING}/{model} at N={sizes[-1]}: std over {args.rotations} rotations "
              f"{spread['std_mean']:.2e} kcal/mol (mean over {len(test_rows)} test molecules), {spread['std_max']:.2e} max")
    missing = [f"{d}/{m}/{n}" for n in sizes for d, m in columns
               if not any((r["descriptor"], r["model"], r["num_train"]) == (d, m, n) for r in records)]
    if missing:
        print(f"not fitted (the run was stopped before them): {', '.join(missing)}")
    if "bob" in descriptors:
        ours = {n: min((r["mae"] for r in records if r["descriptor"] == SCATTERING and r["num_train"] == n), default=None)
                for n in sizes}
        bob = {r["num_train"]: r["mae"] for r in records if r["descriptor"] == "bob"}
        both = [n for n in sizes if ours[n] is not None and n in bob]
        print(f"ours (best model) below Bag of Bonds at N = {[n for n in both if ours[n] < bob[n]] or 'none'} "
              f"(of the sizes where both were fitted: {both})")
    print("\nquoted (published, not measured here):")
    for q in QUOTED:
        print(f"  {q['mae']:>6.2f}  N_train≈{q['num_train']:<7} {q['dataset']}: {q['source']}")
    t = feature_timing
    print(f"\nfeatures ({args.features}): {X.shape[1]} per molecule, device {args.device}; cold {t['cpu_s'] / max(t['molecules'], 1):.4f} "
          f"s/molecule process CPU, {t['wall_s'] / max(t['molecules'], 1):.4f} wall ({t['molecules']} molecules, {t['source']}); "
          f"warm (read from the cache) {t['warm_s']:.2f} s for {len(rows)}")
    for name, bt in baseline_timing.items():
        print(f"{name}: cold {bt['cold_cpu_s'] / bt['molecules']:.5f} s/molecule process CPU ({bt['source']})"
              + (f", warm {bt['warm_s']:.2f} s" if "warm_s" in bt else ""))
    total_s = time.perf_counter() - begin
    what = "the recorded fits' sum" if args.report else "this run"
    print(f"QM9 read {load_s:.1f} s, regression {regression_s:.1f} s ({what}), total {total_s:.1f} s wall (this run); "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}")

    result = {
        "records": records, "quoted": QUOTED, "num_test": len(y_test), "sizes": sizes, "device": args.device,
        "features": features.parameters(), "feature_timing": feature_timing, "baseline_timing": baseline_timing,
        "slopes": slopes, "rotation_spread": spreads, "qm9_read_s": load_s, "regression_s": regression_s,
        "total_s": total_s, "torch": torch.__version__, "threads": torch.get_num_threads(), "missing": missing,
        "report_only": args.report,
    }
    name = "qm9_learning_curve_full" if args.full else "qm9_learning_curve"
    (out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    plot_learning_curve(records, out / f"{name}.png", quoted=[q for q in QUOTED if q["dataset"] == "QM9"])
    if predictions:
        plot_predictions(y_test, {k: v for k, v in predictions.items() if k.startswith(SCATTERING)},
                         out / ("qm9_predictions_full.png" if args.full else "qm9_predictions.png"))
    print(f"wrote {out / (name + '.json')}, {out / (name + '.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
