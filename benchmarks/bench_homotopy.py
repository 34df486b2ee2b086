"""Lasso solvers vs the Lasso solution (DESIGN.md §5, §6b): active-set homotopy, ADMM, geometric ISTC, FISTA.

Part 1 — Gaussian dictionaries, error to scikit-learn's solution. Part 2 — the learned convolutional operator
``Ã = L∘D`` of a trained generator on test digits (the Lasso its decoder solves): mean and worst relative
duality gap, nonzeros per pixel and milliseconds per layer (one thread) for each method at N = 6, 12, 24, 48.

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
    python benchmarks/bench_homotopy.py --part learned --ckpt outputs/train/<run>/checkpoints/last.ckpt

Without ``--ckpt``, part 2 first trains the default generator (``gennet/conf/model/generator.yaml``) for
``--train-epochs`` epochs on the digits (a few minutes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without install
from gennet.sparse import as_operator, homotopy_ista, istc, lambda_max, soft_threshold  # noqa: E402
from gennet.sparse.admm import admm_lasso  # noqa: E402
from gennet.sparse.duality_gap import duality_gap  # noqa: E402
from gennet.sparse.problems import random_lasso_problem, sklearn_lasso  # noqa: E402

LAYERS = (6, 12, 24)
LEARNED_LAYERS = (6, 12, 24, 48)
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


def geometric_istc(y: torch.Tensor, A, lambda_star: float, n_layers: int, positive: bool) -> torch.Tensor:
    """Zarka et al.'s ISTC: ``λ_n = λ_max γⁿ``, ``γ = (λ*/λ_max)^{1/N}``, step 1, ``z_0 = 0`` (dense unit-norm ``A``)."""
    op = as_operator(A)
    lam_max = lambda_max(y, op, positive).clamp_min(lambda_star)
    gamma = (lambda_star / lam_max) ** (1.0 / n_layers)
    z = torch.zeros_like(op.adjoint(y))
    for n in range(1, n_layers + 1):
        z = soft_threshold(z + op.adjoint(y - op.forward(z)), lam_max * gamma**n, positive)
    return z


def fista(y: torch.Tensor, A, lambda_star: float, n_layers: int, positive: bool, norm2: float | None = None) -> torch.Tensor:
    """FISTA (Beck & Teboulle 2009), step ``1/‖A‖²`` (``norm2`` if given), ``λ*`` fixed, ``z_0 = 0``."""
    op = as_operator(A)
    step = 1.0 / (float(op.norm_squared()) if norm2 is None else norm2)
    z = x = torch.zeros_like(op.adjoint(y))
    t = 1.0
    for _ in range(n_layers):
        z_next = soft_threshold(x + step * op.adjoint(y - op.forward(x)), step * lambda_star, positive)
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
    parser.add_argument("--part", choices=("gaussian", "learned", "both"), default="both")
    parser.add_argument("--ckpt", default=None, help="a generator checkpoint for part 2 (default: train one)")
    parser.add_argument("--train-epochs", type=int, default=2, help="part 2 without --ckpt: epochs of the default generator")
    parser.add_argument("--images", type=int, default=128, help="part 2: test digits")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.part in ("gaussian", "both"):
        gaussian_part(args)
    if args.part in ("learned", "both"):
        learned_part(args)


def admm(y, A, lambda_star, n_layers, positive, **_):
    return admm_lasso(y, A, lambda_star, n_layers, positive)


def gaussian_part(args) -> None:
    methods = {"ours": homotopy_ista, "admm": admm, "geom": geometric_istc, "fista": fista}
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


def trained_generator(args):
    """The generator of ``--ckpt``, or the default generator trained for ``--train-epochs`` epochs; and the test digits."""
    from gennet.data import MNIST5kDataModule

    datamodule = MNIST5kDataModule(batch_size=64)
    if args.ckpt:
        from gennet.cli.generation import load_generator

        module, _ = load_generator(args.ckpt, torch.device("cpu"))
        label = f"checkpoint {args.ckpt}"
    else:
        import lightning.pytorch as pl
        from omegaconf import OmegaConf

        from gennet.lit import GeneratorModule

        settings = OmegaConf.to_container(OmegaConf.load(REPO / "gennet" / "conf" / "model" / "generator.yaml"), resolve=False)
        settings.pop("_target_")
        settings.pop("_recursive_", None)
        settings["seed"] = 0
        pl.seed_everything(0, verbose=False)
        module = GeneratorModule(image_size=32, channels=1, **settings)
        trainer = pl.Trainer(max_epochs=args.train_epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                             enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0)
        trainer.fit(module, datamodule=datamodule)
        label = f"default generator trained for {args.train_epochs} epochs"
    datamodule.setup("test")
    x = torch.stack([datamodule.test_dataset[i][0] for i in range(args.images)])
    return module.generator.eval(), x, label


@torch.no_grad()
def learned_part(args) -> None:
    generator, x, label = trained_generator(args)
    y, op, _, _ = generator.lasso_problem(generator.encode(x))
    lam = float(generator.lasso.lambda_star)
    positive = generator.positive
    pixels = generator.channels * generator.rectified.H * generator.rectified.W
    norm2 = float(op.norm_squared())
    methods = {
        "admm": lambda n: admm_lasso(y, op, lam, n, positive),
        "active_set": lambda n: homotopy_ista(y, op, lam, n, positive),
        "istc": lambda n: istc(y, op, lam, n, positive),
        "fista": lambda n: fista(y, op, lam, n, positive, norm2=norm2),
    }
    reference = admm_lasso(y, op, lam, 2000, positive)
    ref_gap = duality_gap(y, op, reference, lam, positive).gap
    print(f"\nThe Lasso of the decoder ({label}): {x.shape[0]} test digits, K = {generator.dictionary.K}, "
          f"λ* = {lam:g} (relative), ‖Ã‖² = {norm2:.1f}; reference (ADMM, 2000 iterations): gap {float(ref_gap.max()):.1e}, "
          f"{float((reference != 0).flatten(1).sum(1).double().mean()) / pixels:.3f} nonzeros per pixel")
    print("cells: mean relative duality gap / worst / nonzeros per pixel / ms per layer (1 thread, batch of all images)")
    header = f"{'method':<12}" + "".join(f"N={n}".center(34) for n in LEARNED_LAYERS)
    print(header)
    print("-" * len(header))
    for name, solve in methods.items():
        cells = []
        for n in LEARNED_LAYERS:
            start = time.perf_counter()
            z = solve(n)
            ms = (time.perf_counter() - start) / n * 1e3
            gap = duality_gap(y, op, z, lam, positive).gap
            nnz = float((z != 0).flatten(1).sum(1).double().mean()) / pixels
            cells.append(f"{float(gap.mean()):.4f} / {float(gap.max()):.3f} / {nnz:.3f} / {ms:5.1f}".center(34))
        print(f"{name:<12}" + "".join(cells))


if __name__ == "__main__":
    main()
