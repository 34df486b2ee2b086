"""Reversible back-propagation (Gomez et al. 2017) against the stored backward on the digits' i-RevNet (DESIGN §14).

For i-RevNets of 3 to 48 coupling blocks (the layout of ``+experiment=mnist_irevnet``, blocks spread evenly over the
three stages), one training step (cross-entropy on a batch of digits-sized inputs) with the stored backward and with
``reversible=True``, from the same weights, prints:

- the bytes autograd keeps for the backward pass (distinct storages packed by ``torch.autograd.graph.saved_tensors_hooks``),
  and their ratio (reversible / stored);
- the relative difference of the gradients (the input's and every parameter's, as one vector), in float32 and float64,
  beside the float32 rounding floor (the stored version in float32 against itself in float64);
- the seconds of forward + backward (median of ``--repeats``), and their ratio: the time reversibility costs.

With ``--checkpoint CKPT`` (a trained ``+experiment=mnist_irevnet`` run) also one row for the trained network on a batch
of training digits: the gradients that training actually computes.

    python benchmarks/reversible_backprop.py --threads 1
    python benchmarks/reversible_backprop.py --blocks 12 --batch 128 --repeats 5 --checkpoint runs/irevnet/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from gennet.models import IRevNet  # noqa: E402

LAYOUT = dict(strides=(1, 2, 2), widths=(16, 64, 256), init_ds=0, bottleneck=(16, 32, 64))


def pair(blocks: int, dtype: torch.dtype) -> tuple[IRevNet, IRevNet]:
    torch.manual_seed(0)
    per_stage = [blocks // 3 + (i < blocks % 3) for i in range(3)]
    stored = IRevNet((32, 32), 1, 10, blocks=per_stage, **LAYOUT).to(dtype).train()
    reversible = IRevNet((32, 32), 1, 10, blocks=per_stage, reversible=True, **LAYOUT).to(dtype).train()
    reversible.load_state_dict(stored.state_dict())
    return stored, reversible


def trained_pair(path: str, dtype: torch.dtype, batch: int):
    """The stored and reversible copies of a checkpoint's i-RevNet, and a batch of its training digits."""
    import copy

    from gennet.cli.analyze import load_classifier
    from gennet.cli.generation import datamodule_for

    module, checkpoint = load_classifier(path, torch.device("cpu"))
    stored = module.network.to(dtype).train()
    stored.reversible = False
    reversible = copy.deepcopy(stored)
    reversible.reversible = True
    datamodule = datamodule_for(checkpoint, None, path)
    datamodule.setup("fit")
    x, y = next(iter(torch.utils.data.DataLoader(datamodule.train_dataset, batch_size=batch)))
    return stored, reversible, x.to(dtype), y


def step(net: IRevNet, x: torch.Tensor, y: torch.Tensor, hooks: bool = False):
    """One forward + backward; returns (gradients, saved bytes or None, seconds)."""
    net.zero_grad()
    x = x.clone().requires_grad_(True)
    storages: dict[int, int] = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    start = time.perf_counter()
    if hooks:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = torch.nn.functional.cross_entropy(net(x), y)
    else:
        loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    seconds = time.perf_counter() - start
    grads = torch.cat([x.grad.flatten()] + [p.grad.flatten() for p in net.parameters()])
    return grads, (sum(storages.values()) if hooks else None), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", nargs="+", type=int, default=[3, 6, 12, 24, 48])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint", default=None, help="also a trained mnist_irevnet checkpoint, on training digits")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); batch {args.batch} of 1x32x32; "
          f"layout {LAYOUT}")
    print("| blocks | saved MiB stored | saved MiB reversible | ratio | gradients, reversible vs stored, float32 | "
          "stored float32 vs float64 | reversible vs stored, float64 | s stored | s reversible | time ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for blocks in args.blocks + ([args.checkpoint] if args.checkpoint else []):
        diffs, grads = {}, {}
        for dtype in (torch.float32, torch.float64):
            if isinstance(blocks, str):
                stored, reversible, x, y = trained_pair(blocks, dtype, args.batch)
            else:
                g = torch.Generator().manual_seed(1)
                x = torch.randn(args.batch, 1, 32, 32, generator=g, dtype=torch.float64).to(dtype)  # the same values in both
                y = torch.randint(0, 10, (args.batch,), generator=g)
                stored, reversible = pair(blocks, dtype)
            a, kept_stored, _ = step(stored, x, y, hooks=True)
            b, kept_reversible, _ = step(reversible, x, y, hooks=True)
            diffs[dtype] = ((a - b).norm() / a.norm()).item()
            grads[dtype] = a
            if dtype == torch.float32:
                bytes_ = (kept_stored, kept_reversible)
                times = [statistics.median(step(net, x, y)[2] for _ in range(args.repeats)) for net in (stored, reversible)]
        floor = ((grads[torch.float32].double() - grads[torch.float64]).norm() / grads[torch.float64].norm()).item()
        if isinstance(blocks, str):
            blocks = f"trained ({sum(1 for m in stored.modules() if type(m).__name__ == 'CouplingBlock')}, digits)"
        print(f"| {blocks} | {bytes_[0] / 2**20:.1f} | {bytes_[1] / 2**20:.1f} | {bytes_[1] / bytes_[0]:.3f} | "
              f"{diffs[torch.float32]:.1e} | {floor:.1e} | {diffs[torch.float64]:.1e} | {times[0]:.3f} | {times[1]:.3f} | "
              f"{times[1] / times[0]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
