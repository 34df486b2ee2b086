"""Test PSNR against nonzeros per pixel: the default generator over a sweep of (λ*, K, solver), at equal epochs.

Each point is the default digit generator (``gennet/conf/model/generator.yaml``, the ``GeneratorModule`` of ``train.py``)
trained for ``--epochs`` epochs with one (λ*, K, solver) changed, then measured on the 500 test digits: PSNR (dB,
images in [−1, 1]), nonzeros per pixel ``‖z‖₀/(C·H·W)`` and the mean relative duality gap of the Lasso at the
returned codes. The CNN decoder of Angles & Mallat (``gennet/conf/model/cnn_generator.yaml``), trained for the same
epochs, is the reference line. A point is on the Pareto front when no other point has both fewer nonzeros
per pixel and a higher test PSNR.

Prints a Markdown table, writes ``<output>.png`` (the curve: the front as a line, the default configuration
circled, each point labelled with λ* and its gap) and ``<output>.json``. ``--data faces`` runs the same sweep on
the CelebA layout of 100 real faces of ``benchmarks/compare_decoders.py`` (32×32 RGB, 80 train / 10 test), the
evidence behind the choices of ``gennet/conf/experiment/celeba.yaml`` and ``lsun_bedroom.yaml``.

    python benchmarks/sparsity_curve.py --epochs 3 --lambdas 0.05 0.1 0.15 0.2 0.3 --atoms 64 128 --solvers admm istc
    python benchmarks/sparsity_curve.py --data faces --epochs 30 --atoms 64 256 --solvers admm --output faces_curve
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # compare_decoders, beside this file
from compare_decoders import benchmark_datamodule, model_settings, train_and_measure  # noqa: E402
from gennet.sparse import SOLVERS, solver_class  # noqa: E402


def pareto_front(points: list[dict]) -> list[int]:
    """Indices of the points no other point dominates (fewer or equal nonzeros per pixel and higher PSNR)."""
    front = []
    for i, p in enumerate(points):
        dominated = any(
            q["nonzeros_per_pixel"] <= p["nonzeros_per_pixel"] and q["psnr_test"] > p["psnr_test"]
            or q["nonzeros_per_pixel"] < p["nonzeros_per_pixel"] and q["psnr_test"] >= p["psnr_test"]
            for j, q in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return front


def plot(points: list[dict], front: list[int], cnn: dict | None, default: dict, epochs: int, path: Path, data: str = "digits") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 6.5), dpi=110)
    markers = {"admm": "o", "istc": "s", "active_set": "^"}
    colors: dict[tuple, str] = {}
    for p in points:
        key = (p["num_atoms"], p["solver"])
        first = key not in colors
        color = colors.setdefault(key, f"C{len(colors)}")
        ax.scatter(p["nonzeros_per_pixel"], p["psnr_test"], marker=markers.get(p["solver"], "D"), color=color, s=55,
                   label=f"K = {p['num_atoms']}, {p['solver']}" if first else None)
        ax.annotate(f"λ*={p['lambda_star']:g}\ngap {100 * p['duality_gap']:.1f}%", (p["nonzeros_per_pixel"], p["psnr_test"]),
                    textcoords="offset points", xytext=(6, 4), fontsize=7)
    ordered = sorted((points[i] for i in front), key=lambda p: p["nonzeros_per_pixel"])
    ax.plot([p["nonzeros_per_pixel"] for p in ordered], [p["psnr_test"] for p in ordered], "k--", lw=1, label="Pareto front")
    for p in points:
        if all(p[k] == default[k] for k in ("lambda_star", "num_atoms", "solver")):
            ax.scatter(p["nonzeros_per_pixel"], p["psnr_test"], s=260, facecolors="none", edgecolors="red", lw=2, label="default config")
    if cnn is not None:
        ax.axhline(cnn["psnr_test"], color="gray", lw=1.5, label=f"CNN decoder (Angles & Mallat): {cnn['psnr_test']:.2f} dB")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(dict(zip(labels, handles)).values(), dict(zip(labels, handles)).keys(), fontsize=8, loc="lower right")
    ax.set(xlabel="nonzeros per pixel  ‖z‖₀ / (C·H·W)", ylabel="test PSNR (dB)",
           title=f"Sparse decoder on the test {data} after {epochs} epochs: PSNR vs sparsity (labels: λ*, mean duality gap)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("digits", "faces"), default="digits")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.05, 0.1, 0.15, 0.2, 0.3])
    parser.add_argument("--atoms", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--solvers", nargs="+", default=["admm", "istc"], choices=sorted(SOLVERS))
    parser.add_argument("--no-cnn", action="store_true", help="skip the CNN reference line")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="sparsity_curve", help="writes <output>.png and <output>.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = model_settings("generator", args.seed)
    default = {"lambda_star": settings["lambda_star"], "num_atoms": settings["num_atoms"],
               "solver": solver_class(settings["solver"]["_target_"]).name}
    with tempfile.TemporaryDirectory() as scratch:
        datamodule = benchmark_datamodule(args.data, Path(scratch), args.seed)
        start = time.time()
        points = []
        for solver in args.solvers:
            for K in args.atoms:
                for lam in args.lambdas:
                    m = train_and_measure(datamodule, "generator", args.epochs, args.seed, lambda_star=lam, num_atoms=K,
                                           solver={"_target_": f"gennet.sparse.{SOLVERS[solver].__name__}"})
                    points.append({"lambda_star": lam, "num_atoms": K, "solver": solver, **m})
                    print(f"λ*={lam:g} K={K} {solver}: {m['psnr_test']:.2f} dB, {m['nonzeros_per_pixel']:.3f} nonzeros/pixel, "
                          f"gap {m['duality_gap']:.4f}, {m['seconds_per_epoch']:.1f} s/epoch", flush=True)
        cnn = None if args.no_cnn else train_and_measure(datamodule, "cnn_generator", args.epochs, args.seed)
    front = pareto_front(points)

    print(f"\n{args.data}: {args.epochs} epochs, {args.threads} threads, seed {args.seed}, {time.time() - start:.0f} s in all; "
          f"default config: λ*={default['lambda_star']:g}, K={default['num_atoms']}, {default['solver']}\n")
    print("| λ* | K | solver | test PSNR (dB) | nonzeros / pixel | duality gap (mean) | train PSNR (dB) | s / epoch | Pareto |")
    print("|---|---|---|---|---|---|---|---|---|")
    for i, p in enumerate(points):
        is_default = all(p[k] == default[k] for k in default)
        print(f"| {p['lambda_star']:g} | {p['num_atoms']} | {p['solver']}{' (default)' if is_default else ''} | {p['psnr_test']:.2f} | "
              f"{p['nonzeros_per_pixel']:.3f} | {p['duality_gap']:.4f} | {p['psnr_train']:.2f} | {p['seconds_per_epoch']:.1f} | "
              f"{'yes' if i in front else ''} |")
    if cnn is not None:
        print(f"| – | – | CNN decoder | {cnn['psnr_test']:.2f} | – | – | {cnn['psnr_train']:.2f} | {cnn['seconds_per_epoch']:.1f} | |")
    on_front = [i for i in front if all(points[i][k] == default[k] for k in default)]
    print(f"\nthe default configuration is {'ON' if on_front else 'NOT on'} the Pareto front")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    plot(points, front, cnn, default, args.epochs, output.with_suffix(".png"), args.data)
    output.with_suffix(".json").write_text(json.dumps({"epochs": args.epochs, "points": points, "front": front, "cnn": cnn,
                                                        "default": default}, indent=2) + "\n")
    print(f"written: {output.with_suffix('.png').resolve()}, {output.with_suffix('.json').resolve()}")


if __name__ == "__main__":
    main()
