"""Scattering2D and the Morlet filter bank against kymatio 0.3.0's torch backend (DESIGN.md §7, §1).

Claims (CPU, float32, ``torch.set_num_threads(threads)``): the forward pass of
:class:`gennet.transforms.Scattering2D` is ≥ 2× faster than kymatio's ``ScatteringTorch2D`` at
(128×1×64², J=3, L=8) and (16×3×128², J=4, L=8), with outputs matching to ≤ 1e-4 (relative ℓ2);
building the filter bank (``morlet_filter_bank``, cache cleared) is ≥ 20× faster than kymatio's
``filter_bank`` at the padded size, matching it to ≤ 1e-6 (max error relative to each filter's max).
Runs alternate between kymatio and ours; times are the minimum over ``--repeats`` runs.
The CPU cases run the CPU path (``path="auto"`` on CPU inputs); ``--gpu-path-on-cpu`` adds the GPU path on them.
When a CUDA device is visible (or ``--device cuda``), the forward pass is also timed there at
128×3×256², J=4, L=8 (goal ≥ 10×), on the GPU path and on the CPU path, with ``torch.cuda.synchronize`` around
each run.

    python benchmarks/bench_scattering.py --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from kymatio.scattering2d.filter_bank import filter_bank as kymatio_filter_bank
from kymatio.scattering2d.frontend.torch_frontend import ScatteringTorch2D

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from gennet.transforms import filters
from gennet.transforms.filters import morlet_filter_bank, periodize_fourier
from gennet.transforms.scattering import Scattering2D, _padded_size

# (B, C, size, J, L)
CASES = [(128, 1, 64, 3, 8), (16, 3, 128, 4, 8)]
GPU_CASES = [(128, 3, 256, 4, 8)]


def _synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _time(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        _synchronize()
        start = time.perf_counter()
        fn()
        _synchronize()
        times.append(time.perf_counter() - start)
    return times


def _alternate(kymatio_fn, ours_fn, repeats: int) -> tuple[float, float]:
    """Minimum times of the two functions, run alternately (one warm-up run each)."""
    kymatio_fn(), ours_fn()
    t_kymatio, t_ours = [], []
    for _ in range(repeats):
        t_kymatio += _time(kymatio_fn, 1)
        t_ours += _time(ours_fn, 1)
    return min(t_kymatio), min(t_ours)


def bench_forward(B: int, C: int, size: int, J: int, L: int, repeats: int, device: str = "cpu", path: str = "auto") -> None:
    x = (torch.rand(B, C, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1).to(device)
    kymatio = ScatteringTorch2D(J, (size, size), L=L).to(device)
    ours = Scattering2D(J, (size, size), L=L, path=path).to(device)
    with torch.no_grad():
        reference, out = kymatio(x), ours(x)
        error = ((out - reference).norm() / reference.norm()).item()
        t_kymatio, t_ours = _alternate(lambda: kymatio(x), lambda: ours(x), repeats)
    print(
        f"forward {B}×{C}×{size}², J={J}, L={L} ({device}, {ours.resolved_path(x)} path): kymatio {t_kymatio:.3f} s, "
        f"ours {t_ours:.3f} s, speed-up {t_kymatio / t_ours:.2f}×, rel. error {error:.1e}"
    )


def bench_filter_bank(size: int, J: int, L: int, repeats: int) -> None:
    M = _padded_size(size, J)

    def ours():
        filters._filter_bank_cached.cache_clear()
        return morlet_filter_bank(M, M, J, L)

    reference, bank = kymatio_filter_bank(M, M, J, L), ours()
    error = 0.0
    for psi in reference["psi"]:
        for res, level in enumerate(psi["levels"]):
            ours_level = periodize_fourier(bank.psi[psi["j"], psi["theta"]], res).numpy()
            error = max(error, np.abs(ours_level - level).max() / np.abs(level).max())
    for res, level in enumerate(reference["phi"]["levels"]):
        error = max(error, np.abs(periodize_fourier(bank.phi, res).numpy() - level).max() / np.abs(level).max())
    t_kymatio, t_ours = _alternate(lambda: kymatio_filter_bank(M, M, J, L), ours, repeats)
    print(
        f"filter bank {M}×{M} (padded {size}²), J={J}, L={L}: kymatio {t_kymatio:.3f} s, ours {t_ours:.4f} s, "
        f"speed-up {t_kymatio / t_ours:.1f}×, max rel. error {error:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else None,
                        help="also time the GPU case on this device, both paths (default: cuda when available)")
    parser.add_argument("--gpu-path-on-cpu", action="store_true", help="also time the GPU path on the CPU cases")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, min of {args.repeats} alternating runs")
    for B, C, size, J, L in CASES:
        bench_forward(B, C, size, J, L, args.repeats)
    if args.gpu_path_on_cpu:
        for B, C, size, J, L in CASES:
            bench_forward(B, C, size, J, L, args.repeats, path="gpu")
    bench_filter_bank(128, 4, 8, args.repeats)
    if args.device:
        print(f"device {args.device}: {torch.cuda.get_device_name() if 'cuda' in args.device else args.device}")
        for B, C, size, J, L in GPU_CASES:
            for path in ("gpu", "cpu"):
                bench_forward(B, C, size, J, L, args.repeats, args.device, path)


if __name__ == "__main__":
    main()
