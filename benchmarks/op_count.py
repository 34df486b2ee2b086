"""Aten operators per call of the GPU path, counted on a CPU: the hardware-free proxy of GPU launch cost (issue 16).

For each workload, one warm-up call, then one call under ``torch.profiler`` (CPU activity); the count is the
number of TOP-LEVEL aten operators — events whose name starts with ``aten::`` and whose CPU parent is none or not
an ``aten::`` event (an operator called from inside another one launches nothing on its own). Workloads:

- ``scattering``: ``Scattering2D(J=4, (256, 256), L=8, path="gpu")`` forward on a 1×3×256² image (no grad);
- ``generator``: one training step (forward, backward, Adam step, atom renormalization) of the generator that
  ``python train.py +experiment=celeba`` builds (64² RGB, J=3, K=256, ADMM N=32), at batch 2, float32, on real
  faces (see ``benchmarks/bench_gpu.py``, ``generator_step``), its transforms on their GPU path;
- ``texture``: one loss+gradient of ``PhaseHarmonicCovariance2D((256, 256), J=5)`` (the loss of
  :func:`gennet.stationary.synthesize`) at a Gaussian-model sample of the brick texture.

Prints one line per workload, ``name: N operators``.

    python benchmarks/op_count.py                 # all three
    python benchmarks/op_count.py --only scattering
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gpu import generator_step, scattering_forward, texture_loss_and_gradient  # noqa: E402

WORKLOADS = ("scattering", "generator", "texture")


def count_operators(fn) -> int:
    """Top-level aten operators of one call of ``fn`` (after one warm-up call), recorded by torch.profiler on the CPU."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return sum(
        1 for e in prof.events()
        if e.name.startswith("aten::") and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))
    )


def use_gpu_paths(module: torch.nn.Module) -> None:
    """Set ``path="gpu"`` on every transform of ``module`` that has two paths (what ``"auto"`` picks on a GPU)."""
    for m in module.modules():
        if getattr(m, "path", None) in ("auto", "cpu", "gpu") and hasattr(m, "resolved_path"):
            m.path = "gpu"


def workload(name: str):
    cpu = torch.device("cpu")
    if name == "scattering":
        return scattering_forward(1, 3, 256, 4, cpu, path="gpu")[0]
    if name == "generator":
        step, module = generator_step("sparse", 2, cpu)
        use_gpu_paths(module)
        return step
    return texture_loss_and_gradient(256, 5, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=WORKLOADS, default=list(WORKLOADS), metavar="NAME", help=f"of {WORKLOADS}")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    labels = {
        "scattering": "Scattering2D J=4 forward 1×3×256², L=8 (GPU path)",
        "generator": "generator training step, +experiment=celeba, batch 2",
        "texture": "texture statistics loss+gradient, PhaseHarmonicCovariance2D 256², J=5",
    }
    for name in args.only:
        print(f"{labels[name]}: {count_operators(workload(name)):,} operators", flush=True)


if __name__ == "__main__":
    main()
