"""Where the generator training step's aten operators go: ``op_count.py``'s count, split by phase (issue 16).

The workload and the count rule are those of ``benchmarks/op_count.py`` (one warm-up call, then one call of
``generator_step("sparse", 2, cpu)`` with the transforms on their GPU path under ``torch.profiler``; only TOP-LEVEL
aten operators count: events named ``aten::…`` whose CPU parent is none or not an ``aten::`` event). Here the
pieces of the step are wrapped in ``torch.profiler.record_function`` labels (the wrappers are installed by this
script only, at run time), and each operator is charged to its innermost label; an operator of the backward pass
is charged to the label of the forward operator that created its autograd node (matched by ``sequence_nr``),
as ``bwd of <label>``. The total equals ``op_count.py``'s line.

    python benchmarks/op_phases.py          # one line per phase, largest first
    python benchmarks/op_phases.py -v       # and the most frequent operators of each phase
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_count import workload  # noqa: E402

PREFIX = "phase:"


def _wrap(owner, name: str, label: str) -> None:
    """Replace ``owner.name`` by the same callable inside ``record_function(PREFIX + label)``."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapped(*args, **kwargs):
        with record_function(PREFIX + label):
            return original(*args, **kwargs)

    setattr(owner, name, wrapped)


def install_labels() -> None:
    """Label the phases of the sparse generator's step (before the step is built, so that every call is seen)."""
    import gennet.lit.generator_module as generator_module
    import gennet.sparse.admm as admm
    import gennet.sparse.dictionary as dictionary
    import gennet.sparse.implicit as implicit
    import gennet.sparse.solver as solver
    import gennet.transforms.embedding as embedding
    from gennet.models.generator import SparseInverseGenerator as G

    phases = (
        (G, "encode", "encode Φ (transforms)"),
        (G, "operator", "operator Ã (norms, rfft)"),
        (G, "lasso_problem", "lasso problem (Aᵀy, λ_max, ȳ)"),
        (G, "sparse_code", "code scaling and statistics"),
        (G, "synthesize", "synthesis (rest)"),
        (G, "normalize_atoms_", "atom renormalization"),
        (embedding.RectifiedWavelet2D, "inverse", "U⁻¹ (transforms)"),
        (dictionary.ConvDictionary, "forward", "dictionary D z"),
        (dictionary.ConvDictionary, "coarse_kernel", "coarse kernel L∘D"),
        (dictionary.CoarseConvOperator, "block_chain", "block factorizations"),
        (admm, "admm_iterations", "ADMM iterations"),
        (admm, "lasso_implicit", "implicit forward (residual, F)"),
        (admm, "certificate", "certificate (duality gap)"),
        (implicit, "support_solve", "implicit backward (CG)"),
        (implicit, "support_solve_splitting", "implicit backward (ADMM on the support)"),
        (solver.LassoSolver, "forward", "solver (rest)"),
        (generator_module.GeneratorModule, "_loss", "loss"),
        (torch.optim.Optimizer, "zero_grad", "zero_grad"),
    )
    for owner, name, label in phases:
        _wrap(owner, name, label)
    for cls in (torch.optim.Adam, torch.optim.AdamW):
        _wrap(cls, "step", "optimizer step")


def phase_counts(fn) -> dict[str, collections.Counter]:
    """``{phase: Counter(operator name → count)}`` for one call of ``fn`` (after one warm-up call)."""
    fn()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = prof.events()

    def label(event) -> str | None:
        parent = event.cpu_parent
        while parent is not None:
            if parent.name.startswith(PREFIX):
                return parent.name[len(PREFIX):]
            parent = parent.cpu_parent
        return None

    created = {}  # autograd sequence number → label of the forward operator that created the node
    for e in events:
        if e.name.startswith("aten::") and e.sequence_nr >= 0:
            found = label(e)
            if found is not None:
                created.setdefault(e.sequence_nr, found)
    phases: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for e in events:
        if not e.name.startswith("aten::") or (e.cpu_parent is not None and e.cpu_parent.name.startswith("aten::")):
            continue
        name, node, parent = None, None, e.cpu_parent
        while parent is not None:
            if name is None and parent.name.startswith(PREFIX):
                name = parent.name[len(PREFIX):]
            if node is None and parent.name.startswith("autograd::engine::evaluate_function"):
                node = parent
            parent = parent.cpu_parent
        if name is None:
            name = f"bwd of {created.get(node.sequence_nr, node.name.split(': ', 1)[-1])}" if node is not None else "other"
        phases[name][e.name] += 1
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list the most frequent operators of each phase")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    install_labels()
    phases = phase_counts(workload("generator"))
    total = 0
    for name, ops in sorted(phases.items(), key=lambda item: -sum(item[1].values())):
        count = sum(ops.values())
        total += count
        print(f"{count:6,d}  {name}")
        if args.verbose:
            print("        " + ", ".join(f"{op[6:]} {n}" for op, n in ops.most_common(10)))
    print(f"{total:6,d}  total (generator training step, +experiment=celeba, batch 2)", flush=True)


if __name__ == "__main__":
    main()
