"""Homotopy ISTA vs the Lasso solution (DESIGN.md §5): ours, geometric ISTC, FISTA.

Problem generator (calibrated so that geometric ISTC matches the reference numbers, ≈3.7% at
N=12 and ≈1.2–2% at N=24): a Gaussian dictionary ``A: (d, K)`` with unit-norm columns; codes
with ``s`` nonzeros at uniform random positions, standard-normal amplitudes (absolute values in
the positive case); ``y = A z₀ + ε`` with white noise at 5% of ``‖A z₀‖`` (``noise=0.05``), then
``y`` is scaled to unit norm (as the per-position ℓ2 normalization of Zarka et al.). Rows tagged
``stress`` use 20% noise with ``λ* = 0.02`` on ``d=128, K=1024``: Lasso supports of ~70 atoms,
an ill-conditioned regime where only "no blow-up" is asked. Reference: scikit-learn ``Lasso``
(``alpha = λ*/d``, ``fit_intercept=False``, ``tol=1e-12``), i.e. ``½‖y − Az‖² + λ*‖z‖₁``.
Error: ``‖z − z_sk‖ / ‖z_sk‖`` per sample; table cells are means over the ``--trials``
samples of a row and over the ``--seeds`` seeds ``seed, seed+1, …`` (fresh problems each), the
``worst`` lines the maxima over samples, per seed and over all seeds.

    python benchmarks/bench_homotopy.py --trials 8 --seed 0 --seeds 4
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from gennet.sparse import homotopy_ista, lambda_max, soft_threshold
from gennet.sparse.problems import random_lasso_problem, sklearn_lasso

LAYERS = (6, 12, 24)
# (d, K, s, λ*, noise, tag)
SETTINGS = [
    (128, 512, 10, 0.05, 0.05, ""),
    (200, 1024, 20, 0.05, 0.05, ""),
    (256, 1024, 30, 0.02, 0.05, ""),
    (300, 1024, 30, 0.05, 0.05, ""),
    (128, 1024, 20, 0.10, 0.05, ""),
    (128, 1024, 10, 0.02, 0.05, ""),
    (128, 1024, 10, 0.02, 0.20, "stress"),
]


def geometric_istc(y: torch.Tensor, A: torch.Tensor, lambda_star: float, n_layers: int, positive: bool) -> torch.Tensor:
    """Zarka et al.'s ISTC: ``λ_n = λ_max γⁿ``, ``γ = (λ*/λ_max)^{1/N}``, step 1, ``z_0 = 0``."""
    lam_max = lambda_max(y, A, positive).clamp_min(lambda_star)[:, None]
    gamma = (lambda_star / lam_max) ** (1.0 / n_layers)
    z = torch.zeros(y.shape[0], A.shape[1], dtype=y.dtype)
    for n in range(1, n_layers + 1):
        z = soft_threshold(z + (y - z @ A.T) @ A, lam_max * gamma**n, positive)
    return z


def fista(
    y: torch.Tensor, A: torch.Tensor, lambda_star: float, n_layers: int, positive: bool, norm2: float | None = None
) -> torch.Tensor:
    """FISTA (Beck & Teboulle 2009), step ``1/‖A‖²`` (``norm2`` if given), ``λ*`` fixed, ``z_0 = 0``."""
    step = 1.0 / (torch.linalg.matrix_norm(A.double(), ord=2).item() ** 2 if norm2 is None else norm2)
    z = x = torch.zeros(y.shape[0], A.shape[1], dtype=y.dtype)
    t = 1.0
    for _ in range(n_layers):
        z_next = soft_threshold(x + step * (y - x @ A.T) @ A, step * lambda_star, positive)
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        x = z_next + (t - 1) / t_next * (z_next - z)
        z, t = z_next, t_next
    return z


def make_problem(d, K, s, lambda_star, noise, positive, trials, rng):
    A, Y = random_lasso_problem(d, K, s, positive, trials, noise, rng)
    return A, Y, sklearn_lasso(A, Y, lambda_star, positive)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=8, help="samples per setting")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (seed, seed+1, ...)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    methods = {"ours": homotopy_ista, "geom": geometric_istc, "fista": fista}
    start = time.time()
    keys = [(m, n) for m in methods for n in LAYERS]
    rows = [(positive, *setting) for positive in (False, True) for setting in SETTINGS]
    errors = {}  # (seed, row index) -> {(method, N): per-sample errors}
    nonfinite = 0
    for seed in range(args.seed, args.seed + args.seeds):
        rng = np.random.default_rng(seed)
        for r, (positive, d, K, s, lam, noise, tag) in enumerate(rows):
            A, Y, Z_ref = make_problem(d, K, s, lam, noise, positive, args.trials, rng)
            norm2 = float(np.linalg.norm(A.double().numpy(), 2) ** 2)
            ref_norm = np.linalg.norm(Z_ref, axis=1)
            cell = errors[(seed, r)] = {}
            for name, solve in methods.items():
                for n in LAYERS:
                    extra = {"norm2": norm2} if name == "fista" else {}
                    z = solve(Y, A, lam, n, positive, **extra).double().numpy()
                    nonfinite += int(not np.isfinite(z).all())
                    cell[(name, n)] = np.linalg.norm(z - Z_ref, axis=1) / ref_norm
    seeds = range(args.seed, args.seed + args.seeds)
    header = f"{'setting':<38}" + "".join(f"{m}{n:>3}".rjust(9) for m, n in keys)
    print(f"mean relative error to sklearn's Lasso over {args.trials} trials x {args.seeds} seed(s)")
    print(header)
    print("-" * len(header))
    for r, (positive, d, K, s, lam, noise, tag) in enumerate(rows):
        label = f"{'pos' if positive else 'sgn'} d={d} K={K} s={s} λ*={lam} {tag}"
        cells = [np.concatenate([errors[(seed, r)][key] for seed in seeds]).mean() for key in keys]
        print(f"{label:<38}" + "".join(f"{c:9.4f}" if c < 100 else f"{c:9.3g}" for c in cells))
    print("-" * len(header))

    def worst(seed_list, calibrated_only):
        return [
            max(
                float(errors[(seed, r)][key].max())
                for seed in seed_list
                for r, row in enumerate(rows)
                if not (calibrated_only and row[-1])
            )
            for key in keys
        ]

    def mean(seed_list):
        calibrated = [r for r, row in enumerate(rows) if not row[-1]]
        return [
            float(np.mean([errors[(seed, r)][key].mean() for seed in seed_list for r in calibrated])) for key in keys
        ]

    def fmt(values):
        return "".join(f"{v:9.4f}" if v < 100 else f"{v:9.3g}" for v in values)

    print(f"{'mean (calibrated)':<38}" + fmt(mean(seeds)))
    for seed in seeds if args.seeds > 1 else ():
        print(f"{f'worst (calibrated, seed {seed})':<38}" + fmt(worst([seed], True)))
    print(f"{'worst (calibrated)':<38}" + fmt(worst(seeds, True)))
    print(f"{'worst (all)':<38}" + fmt(worst(seeds, False)))
    print(f"non-finite outputs: {nonfinite}; {time.time() - start:.1f}s")


if __name__ == "__main__":
    main()
