"""The exact inverse of a trained i-RevNet on the 1,000 held-out digits (DESIGN §14, issue 28's acceptance).

For each checkpoint (``python train.py +experiment=mnist_irevnet`` / ``mnist_irevnet_bijective``), loaded with
``weights_only=True`` in eval mode: ``max |x − Φ⁻¹(Φ(x))|`` over the 500 validation and 500 test digits in float32
and in float64 (the same weights cast), the largest relative error ``‖x − Φ⁻¹Φx‖/‖x‖``, and the number of values of
``Φ(x)`` against the image's (equal for the bijective variant).

    python benchmarks/exact_inverse.py runs/irevnet/checkpoints/last.ckpt runs/irevnet_bijective/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
from gennet.analysis import reconstruction_error  # noqa: E402
from gennet.cli.analyze import load_classifier  # noqa: E402
from gennet.cli.generation import datamodule_for  # noqa: E402


def held_out(checkpoint: dict, path: str) -> torch.Tensor:
    """The validation and test images of the data module recorded in the checkpoint, ``(N, C, H, W)``."""
    datamodule = datamodule_for(checkpoint, None, path)
    datamodule.setup("fit")
    datamodule.setup("test")
    return torch.stack([x for dataset in (datamodule.val_dataset, datamodule.test_dataset) for x, _ in dataset])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| checkpoint | variant | images | values of Φ(x) / of x | max abs float32 | max abs float64 | max rel. float32 | max rel. float64 |")
    print("|---|---|---|---|---|---|---|---|")
    for path in args.checkpoints:
        module, checkpoint = load_classifier(path, torch.device("cpu"))
        network = module.network.eval()
        images = held_out(checkpoint, path)
        found = {}
        for dtype, net in ((torch.float32, network), (torch.float64, copy.deepcopy(network).double())):
            rows = [reconstruction_error(net, x.to(dtype)) for x in images.split(250)]
            found[dtype] = {key: max(row[key] for row in rows) for key in ("max_abs", "max_relative")}
        variant = "injective (a)" if network.injective else "bijective (b)"
        print(f"| {path} | {variant} | {len(images)} | {rows[0]['feature_values']} / {rows[0]['input_values']} | "
              f"{found[torch.float32]['max_abs']:.2e} | {found[torch.float64]['max_abs']:.2e} | "
              f"{found[torch.float32]['max_relative']:.2e} | {found[torch.float64]['max_relative']:.2e} |")


if __name__ == "__main__":
    main()
