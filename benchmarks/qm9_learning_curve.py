"""QM9 learning curve: test MAE of the atomization energy U0 (kcal/mol) against the number of training
molecules, solid harmonic scattering (ridge, kernel ridge) beside the Coulomb-matrix eigenvalues (Rupp et al.
2012), with published numbers quoted beside ours; the features' seconds per molecule.

    python benchmarks/qm9_learning_curve.py                         # 1,000 / 2,000 / 5,000 train, 2,000 test (CPU)
    python benchmarks/qm9_learning_curve.py --train 200 --test 100  # a quick dry run
    python benchmarks/qm9_learning_curve.py --device cuda:0 --full  # the whole split: 110,000 train, 10,831 test
    python benchmarks/qm9_learning_curve.py --export-npz qm9.npz    # QM9 in one ~40 MB file, to carry where
    python benchmarks/qm9_learning_curve.py --qm9-npz qm9.npz …     #   qm9pack (a 100 MB wheel) cannot go

``--full`` fits the linear (ridge) models only (an exact kernel ridge of 110,000 molecules needs a 110k² kernel).
Features are cached (``--cache-dir``, keyed by every parameter and the data); when they come from the cache
the time reported is the one recorded when they were computed (``timing.json`` of the cache). Writes
``qm9_learning_curve.json`` and ``.png`` and ``qm9_predictions.png`` in ``--out``. Needs the chem extra
(``pip install -e ".[chem]"``: qm9pack, scikit-learn).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

#: Published results, quoted (not measured here). MAE of U0 / atomization energy in kcal/mol.
QUOTED = [
    {"label": "seed 001: scattering regression, full QM9 (~0.5)", "dataset": "QM9", "num_train": 110000, "mae": 0.5,
     "source": "seed 001 'Scattering Energy Regression' (Eickenberg, Exarchakis, Hirn, Poilvert, Thiry): ~0.5 kcal/mol ~ deep nets"},
    {"label": "Rupp 2012: CM eigenvalues + Gaussian KRR, QM7 (9.9)", "dataset": "QM7 (GDB-7, 7,165 molecules)", "num_train": 7000, "mae": 9.9,
     "source": "Rupp, Tkatchenko, Müller, von Lilienfeld, PRL 108, 058301 (2012)"},
    {"label": "kymatio example: scattering + linear ridge, QM7 (2.75)", "dataset": "QM7 (5-fold CV, ~5,700 train)", "num_train": 5700, "mae": 2.75,
     "source": "kymatio 0.3 example 3d/scattering3d_qm7.py (docstring), the method of Eickenberg et al., J. Chem. Phys. 148, 241732 (2018)"},
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, nargs="+", default=[1000, 2000, 5000], help="training sizes (nested prefixes)")
    parser.add_argument("--test", type=int, default=2000, help="test molecules (a prefix of the seeded test split)")
    parser.add_argument("--full", action="store_true", help="the whole split: 110,000 training and 10,831 test molecules, ridge only")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/gennet/molecules"))
    parser.add_argument("--out", default="outputs/benchmarks")
    parser.add_argument("--qm9-npz", default=None, help="read QM9 from this file of --export-npz instead of qm9pack")
    parser.add_argument("--export-npz", default=None, help="write QM9 (from qm9pack) to this compact file and stop")
    parser.add_argument("--dry-run", type=int, default=None, metavar="N",
                        help="with --full: cap the training set at N and the test set at N // 2 (a rehearsal)")
    args = parser.parse_args(argv)
    begin = time.perf_counter()

    from gennet.molecules import ScatteringFeatures, coulomb_eigenvalues, load_qm9, make_split
    from gennet.molecules.learning_curve import learning_curve
    from gennet.molecules.plots import plot_learning_curve, plot_predictions
    from gennet.molecules.qm9 import load_compact, qm9_csv_files, save_compact
    from gennet.molecules.regression import require_sklearn

    try:
        if args.qm9_npz is None:
            qm9_csv_files()
        if args.export_npz:
            path = save_compact(load_qm9(args.cache_dir), args.export_npz)
            print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
            return 0
        require_sklearn()
    except ValueError as error:
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
    if args.full:
        sizes, num_test = [len(split.train)], len(split.test)
        if args.dry_run:
            sizes, num_test = [min(sizes[0], args.dry_run)], min(num_test, max(args.dry_run // 2, 1))
        models = {"scattering": ["ridge"], "coulomb": ["ridge"]}
    else:
        sizes, num_test = sorted(args.train), args.test
        models = {"scattering": ["ridge", "kernel"], "coulomb": ["kernel"]}
    split = split.take(sizes[-1], num_test)
    rows = np.concatenate([split.train, split.test])
    n_train = len(split.train)

    features = ScatteringFeatures(device=args.device, batch_size=args.batch_size)
    features.check(data, rows)
    X = features.compute(data, rows, cache_dir=args.cache_dir)
    timing = dict(features.last_timing)
    source = "this run"
    if timing["molecules"] < len(rows) // 2:  # mostly cached: the cost recorded when the cache was filled
        recorded = json.loads((Path(args.cache_dir) / f"scattering-{features._key(data)}" / "timing.json").read_text())
        timing, source = recorded, "recorded in the cache when computed"
    start = time.perf_counter()
    E = coulomb_eigenvalues(torch.from_numpy(data.charges[rows]), torch.from_numpy(data.positions[rows])).numpy()
    coulomb_s = time.perf_counter() - start

    descriptors = {"scattering": (X[:n_train], X[n_train:]), "coulomb": (E[:n_train], E[n_train:])}
    y_train, y_test = data.energy[split.train], data.energy[split.test]
    start = time.perf_counter()
    records, predictions = learning_curve(descriptors, y_train, y_test, sizes, models, folds=args.folds, seed=args.seed)
    regression_s = time.perf_counter() - start

    per_molecule = timing["wall_s"] / max(timing["molecules"], 1)
    cpu_per_molecule = timing["cpu_s"] / max(timing["molecules"], 1)
    print(f"\nQM9 U0 atomization energy, {len(y_test)} test molecules (seeded split, seed {args.seed}); kcal/mol")
    print(f"{'descriptor':<11} {'model':<7} {'N_train':>8} {'MAE':>8} {'RMSE':>8}  hyper-parameters (CV)")
    for r in records:
        print(f"{r['descriptor']:<11} {r['model']:<7} {r['num_train']:>8} {r['mae']:>8.2f} {r['rmse']:>8.2f}  {r['params']}")
    print("\nquoted (published, not measured here):")
    for q in QUOTED:
        print(f"  {q['mae']:>6.2f}  N_train≈{q['num_train']:<7} {q['dataset']}: {q['source']}")
    print(f"\nfeatures: {features.scattering.num_paths * (features.L + 1) * len(features.integral_powers) * len(features.channels) + len(features.integral_powers) * len(features.channels)} "
          f"per molecule, grid {list(features.shape)} × {features.spacing} Å, device {args.device}")
    print(f"features: {per_molecule:.4f} s/molecule wall, {cpu_per_molecule:.4f} s/molecule process CPU "
          f"({timing['molecules']} molecules, {source})")
    total_s = time.perf_counter() - begin
    print(f"QM9 read {load_s:.1f} s, Coulomb eigenvalues {coulomb_s:.2f} s, regression {regression_s:.1f} s, "
          f"total {total_s:.1f} s wall (this run)")
    best = {}
    for r in records:
        if r["num_train"] == sizes[-1]:
            best[r["descriptor"]] = min(best.get(r["descriptor"], np.inf), r["mae"])
    if "scattering" in best and "coulomb" in best:
        verdict = "below" if best["scattering"] < best["coulomb"] else "NOT below"
        print(f"at N_train={sizes[-1]}: best scattering MAE {best['scattering']:.2f} is {verdict} the Coulomb baseline's {best['coulomb']:.2f}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "records": records, "quoted": QUOTED, "num_test": len(y_test), "sizes": sizes, "device": args.device,
        "features": features.parameters(), "feature_timing": timing, "feature_timing_source": source,
        "seconds_per_molecule": per_molecule, "cpu_seconds_per_molecule": cpu_per_molecule,
        "qm9_read_s": load_s, "coulomb_s": coulomb_s, "regression_s": regression_s, "total_s": total_s,
    }
    name = "qm9_learning_curve_full" if args.full else "qm9_learning_curve"
    (out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    plot_learning_curve(records, out / f"{name}.png", quoted=[q for q in QUOTED if q["dataset"] == "QM9"])
    plot_predictions(y_test, predictions, out / ("qm9_predictions_full.png" if args.full else "qm9_predictions.png"))
    print(f"wrote {out / (name + '.json')}, {out / (name + '.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
