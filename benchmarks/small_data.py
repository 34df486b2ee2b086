"""Few training digits: do the scattering hybrids beat a plain CNN when data are few? (DESIGN §11)

Oyallon, Belilovsky & Zagoruyko (ICCV 2017) train on 100, 500 and 1,000 CIFAR-10 images: Scat + WRN reaches
38 / 55 / 62% where the same WRN-16-8 trained end to end reaches 35 / 47 / 60%. Here the same question on the
bundled MNIST digits: n = 10, 50, 100 and 400 training images per class (a seeded subset of the 4,000 training
digits, drawn per class; a class with fewer than n digits gives all of them, so n = 400 is ~3,970 digits),
tested on the 500 held-out test digits, for

- ``hybrid_scatnet``: scattering J=2 + ResNet (3x3 conv 64, 2 blocks at 64, 2 at 128), as ``+experiment=mnist_hybrid``;
- ``sle``: scattering J=2 + two 1x1 convolutions of 256 + an MLP (256 hidden);
- ``sparse_scatnet`` and ``scatnet``: Zarka et al.'s networks sized as ``+experiment=mnist_classifier``;
- ``resnet``: torchvision's ResNet-18 from scratch (``--resnet-stem``, see below);
- ``irevnet``: the injective i-RevNet of ``+experiment=mnist_irevnet`` (blocks 2-2-2 at 32² / 16² / 8², widths 16-64-256,
  F's inner width 16-32-64): a network that loses no information up to its head (DESIGN §14).

Budget — the same for every network at a given n: the recipe of ``gennet/conf/experiment/mnist_digits.yaml``
(SGD 0.1, momentum 0.9, weight decay 5e-4, batch 128 or the whole subset if smaller, cosine decay to 0 over
the run) for ``max(60, ⌈3·N/128⌉)`` optimizer steps, N the number of training digits: 60 steps for n ≤ 100
(60, 15 and 7.7 epochs), 94 steps (3 epochs) for n = 400. No validation, no early stopping: the network at
the end of the run is tested. Seeds 0, 1, 2 draw the subset and initialize the network; the train/test split
is always seed 0's.

``--resnet-stem imagenet`` (default) keeps torchvision's stem (7x7 stride 2 + max pool: 32 -> 8 pixels), so
that the ResNet's residual stages see 8x8 maps like the hybrid's (whose scattering at J=2 also divides by 4);
``--resnet-stem cifar`` is ``model=resnet``'s default (3x3 stride 1, no pooling: 32x32 maps, ~16x the compute).

Prints the test accuracy (mean ± std over seeds, %) as a Markdown table, and seconds per run. Run a subset
with ``--models``, ``--sizes``, ``--seeds``; the five scattering / ResNet networks (4 sizes x 3 seeds = 60 runs) take
~35 min on two quiet cores (~80 min on a loaded machine); the i-RevNet's 12 runs ~15 min more.

    python benchmarks/small_data.py --threads 2
    python benchmarks/small_data.py --models hybrid_scatnet resnet --sizes 10 50 --seeds 0 1 2 --resnet-stem cifar
    python benchmarks/small_data.py --models irevnet --sizes 10 100 400 --threads 1
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without install
from gennet.data.mnist5k import MNIST5kDataModule  # noqa: E402

#: The networks, as overrides of ``+experiment=mnist_digits`` (the recipe), sized for 32x32 digits.
NETWORKS = {
    "hybrid_scatnet": ["model=hybrid_scatnet", "model.network.J=2", "model.network.widths=[64,128]", "model.network.blocks=[2,2]"],
    "sle": ["model=sle", "model.network.J=2", "model.network.widths=[256,256]", "model.network.hidden=[256]"],
    # as gennet/conf/experiment/mnist_classifier.yaml
    "sparse_scatnet": ["model=sparse_scatnet", "model.scattering.J=2", "model.proj_channels=64", "model.num_atoms=256",
                       "model.hidden=512", "model.pool_size=2", "model.pool_stride=2"],
    "scatnet": ["model=scatnet", "model.scattering.J=2", "model.hidden=512", "model.pool_size=2", "model.pool_stride=2"],
    "resnet": ["model=resnet"],
    # as gennet/conf/experiment/mnist_irevnet.yaml
    "irevnet": ["model=irevnet", "model.network.blocks=[2,2,2]", "model.network.strides=[1,2,2]", "model.network.widths=[16,64,256]",
                "model.network.init_ds=0", "model.network.bottleneck=[16,32,64]", "model.network.dropout=0.0"],
}
SIZES = (10, 50, 100, 400)
BATCH = 128
MIN_STEPS, EPOCHS = 60, 3


class DigitSubset(MNIST5kDataModule):
    """MNIST5k with only ``per_class`` training digits of each class (seeded by ``subset_seed``); val and test unchanged."""

    def __init__(self, per_class: int, subset_seed: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.per_class, self.subset_seed = per_class, subset_seed

    def make_datasets(self):
        train, val, test = super().make_datasets()
        images, labels = train.tensors
        generator = torch.Generator().manual_seed(self.subset_seed)
        keep = []
        for digit in range(self.num_classes):
            members = (labels == digit).nonzero()[:, 0]
            keep.append(members[torch.randperm(len(members), generator=generator)[: self.per_class]])
        keep = torch.cat(keep).sort().values
        return torch.utils.data.TensorDataset(images[keep], labels[keep]), val, test


def budget(num_images: int) -> int:
    """Optimizer steps for a training set of ``num_images``: ``max(60, ⌈3 epochs⌉)`` at batch 128."""
    return max(MIN_STEPS, math.ceil(EPOCHS * num_images / BATCH))


def compose(model: str, seed: int, resnet_stem: str):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from gennet.cli.resolvers import register_resolvers

    register_resolvers()
    overrides = ["+experiment=mnist_digits", *NETWORKS[model], f"seed={seed}", "data.seed=0", f"data.batch_size={BATCH}"]
    if model == "resnet":
        overrides.append(f"model.network.stem={resnet_stem}")
    with initialize_config_dir(config_dir=str(REPO / "gennet" / "conf"), version_base="1.3"):
        return hydra_compose("train", overrides=overrides)


def run(model: str, per_class: int, seed: int, resnet_stem: str) -> dict:
    """Train one network on one subset; returns the test accuracy, the steps and the seconds."""
    import lightning.pytorch as pl
    from hydra.utils import instantiate

    cfg = compose(model, seed, resnet_stem)
    pl.seed_everything(seed, workers=True, verbose=False)
    data_args = {k: v for k, v in cfg.data.items() if k != "_target_"}
    datamodule = DigitSubset(per_class, seed, **data_args)
    datamodule.setup("fit")
    num_images = len(datamodule.train_dataset)
    datamodule.batch_size = min(BATCH, num_images)
    module = instantiate(cfg.model, _convert_="all", image_size=32, channels=1, num_classes=10)
    steps = budget(num_images)
    trainer = pl.Trainer(max_steps=steps, max_epochs=-1, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         limit_val_batches=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, datamodule=datamodule)
        seconds = time.perf_counter() - start
        (metrics,) = trainer.test(module, datamodule=datamodule, verbose=False)
    return {"model": model, "per_class": per_class, "seed": seed, "train_images": num_images, "steps": steps,
            "test_acc": metrics["test/acc"], "fit_seconds": seconds}


def table(results: list[dict], models: list[str], sizes: list[int]) -> str:
    header = "| network | " + " | ".join(f"n = {n}" for n in sizes) + " | s / run |"
    lines = [header, "|---|" + "---|" * (len(sizes) + 1)]
    for model in models:
        cells, seconds = [], []
        for n in sizes:
            accs = [100 * r["test_acc"] for r in results if r["model"] == model and r["per_class"] == n]
            seconds += [r["fit_seconds"] for r in results if r["model"] == model and r["per_class"] == n]
            if not accs:
                cells.append("–")
            elif len(accs) == 1:
                cells.append(f"{accs[0]:.1f}")
            else:
                cells.append(f"{statistics.mean(accs):.1f} ± {statistics.stdev(accs):.1f}")
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {statistics.mean(seconds):.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES), help="training digits per class")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--resnet-stem", choices=("imagenet", "cifar"), default="imagenet")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write every run to this file")
    args = parser.parse_args()
    if min(args.sizes) < 1:
        parser.error("--sizes must be >= 1")
    torch.set_num_threads(args.threads)
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    results = []
    total = len(args.models) * len(args.sizes) * len(args.seeds)
    for n in args.sizes:
        for seed in args.seeds:
            for model in args.models:
                result = run(model, n, seed, args.resnet_stem)
                results.append(result)
                print(f"[{len(results)}/{total}] {model:15s} n={n:4d} seed={seed} images={result['train_images']:5d} "
                      f"steps={result['steps']:4d} test acc {100 * result['test_acc']:.2f}%  {result['fit_seconds']:.0f} s", flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nTest accuracy (%) on the 500 held-out digits, mean ± std over seeds {args.seeds}; "
          f"resnet stem: {args.resnet_stem}; steps: max({MIN_STEPS}, {EPOCHS} epochs) at batch {BATCH}\n")
    print(table(results, args.models, args.sizes))


if __name__ == "__main__":
    main()
