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
samples of a row, the ``worst`` lines the maxima over samples.

    python benchmarks/bench_homotopy.py --trials 8 --seed 0
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import Lasso

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from gennet.sparse import homotopy_ista, lambda_max, soft_threshold

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


def fista(y: torch.Tensor, A: torch.Tensor, lambda_star: float, n_layers: int, positive: bool) -> torch.Tensor:
    """FISTA (Beck & Teboulle 2009), step ``1/‖A‖²``, ``λ*`` fixed, ``z_0 = 0``."""
    step = 1.0 / torch.linalg.matrix_norm(A, ord=2) ** 2
    z = x = torch.zeros(y.shape[0], A.shape[1], dtype=y.dtype)
    t = 1.0
    for _ in range(n_layers):
        z_next = soft_threshold(x + step * (y - x @ A.T) @ A, step * lambda_star, positive)
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        x = z_next + (t - 1) / t_next * (z_next - z)
        z, t = z_next, t_next
    return z


def make_problem(d, K, s, lambda_star, noise, positive, trials, rng):
    A = rng.standard_normal((d, K))
    A /= np.linalg.norm(A, axis=0)
    Z = np.zeros((trials, K))
    for b in range(trials):
        amp = rng.standard_normal(s)
        Z[b, rng.choice(K, s, replace=False)] = np.abs(amp) if positive else amp
    Y = Z @ A.T
    Y += noise * np.linalg.norm(Y, axis=1, keepdims=True) / np.sqrt(d) * rng.standard_normal(Y.shape)
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    Z_ref = np.stack([
        Lasso(alpha=lambda_star / d, fit_intercept=False, tol=1e-12, max_iter=200_000, positive=positive)
        .fit(A, Y[b]).coef_
        for b in range(trials)
    ])
    return torch.tensor(A, dtype=torch.float32), torch.tensor(Y, dtype=torch.float32), Z_ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=8, help="samples per setting")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    rng = np.random.default_rng(args.seed)
    methods = {"ours": homotopy_ista, "geom": geometric_istc, "fista": fista}
    start = time.time()
    header = f"{'setting':<38}" + "".join(f"{m}{n:>3}".rjust(9) for m in methods for n in LAYERS)
    print(header)
    print("-" * len(header))
    worst = {tag: {(m, n): 0.0 for m in methods for n in LAYERS} for tag in ("calibrated", "all")}
    nonfinite = 0
    for positive in (False, True):
        for d, K, s, lam, noise, tag in SETTINGS:
            A, Y, Z_ref = make_problem(d, K, s, lam, noise, positive, args.trials, rng)
            ref_norm = np.linalg.norm(Z_ref, axis=1)
            row = f"{'pos' if positive else 'sgn'} d={d} K={K} s={s} λ*={lam} {tag}"
            cells = []
            for name, solve in methods.items():
                for n in LAYERS:
                    z = solve(Y, A, lam, n, positive).double().numpy()
                    nonfinite += int(not np.isfinite(z).all())
                    err = np.linalg.norm(z - Z_ref, axis=1) / ref_norm
                    cells.append(f"{err.mean():9.4f}")
                    for key in ("all",) + (() if tag else ("calibrated",)):
                        worst[key][(name, n)] = max(worst[key][(name, n)], float(err.max()))
            print(f"{row:<38}" + "".join(cells))
    print("-" * len(header))
    for key, values in worst.items():
        print(f"{'worst (' + key + ')':<38}" + "".join(f"{values[(m, n)]:9.4f}" for m in methods for n in LAYERS))
    print(f"non-finite outputs: {nonfinite}; {time.time() - start:.1f}s")


if __name__ == "__main__":
    main()
