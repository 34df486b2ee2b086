"""Sample quality of digit generators against temperature and decoder: Fréchet distance and precision/recall
(Kynkäänniemi et al. 2019, k = 3) in the features of gennet's digit classifier (:mod:`gennet.metrics`).

For each checkpoint (any decoder: ``model=generator``, ``model=cnn_generator``, …) trained on the bundled
digits: the Gaussian model of ``w`` (fitted once and saved beside the checkpoint, as ``sample.py`` does),
``--num-samples`` samples ``G(w)`` at each temperature, compared with the 500 test digits; the first
line is the floor, the 500 validation digits against the same test digits (real vs real).

    python train.py trainer.max_epochs=2 hydra.run.dir=runs/sparse
    python train.py model=cnn_generator trainer.max_epochs=2 hydra.run.dir=runs/cnn
    python benchmarks/sample_quality.py runs/sparse/checkpoints/last.ckpt runs/cnn/checkpoints/last.ckpt --temperatures 0.5 0.75 1.0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without install
from gennet.cli.digit_quality import is_digit_data, real_digit_quality, sample_digit_quality  # noqa: E402
from gennet.cli.generation import datamodule_for, device_for, gaussian_for, load_generator  # noqa: E402
from gennet.metrics import load_digit_classifier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--temperatures", nargs="+", type=float, default=[0.5, 0.75, 1.0])
    parser.add_argument("--num-samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = device_for(args.device)
    classifier = load_digit_classifier(device)
    header = f"{'checkpoint':<44} {'decoder':<24} {'T':>5} {'Fréchet distance':>17} {'precision':>10} {'recall':>8}"
    lines, floor = [header, "-" * len(header)], None
    for path in args.checkpoints:
        module, checkpoint = load_generator(path, device)
        datamodule = datamodule_for(checkpoint, None, path)
        if not is_digit_data(datamodule):
            sys.exit(f"error: {path}: not trained on the bundled 32×32 digits (data=mnist5k)")
        datamodule.setup()
        if floor is None:
            floor = real_digit_quality(datamodule, len(datamodule.test_dataset), device, classifier)
            lines.insert(2, f"{'validation digits (real vs real)':<44} {'–':<24} {'–':>5} {floor['frechet_distance']:>17.3f} "
                            f"{floor['precision']:>10.3f} {floor['recall']:>8.3f}")
        model = gaussian_for(module, path, datamodule, device)
        decoder = type(module.generator).__name__
        for temperature in args.temperatures:
            q = sample_digit_quality(module, model, datamodule, len(datamodule.test_dataset), args.num_samples, temperature,
                                     args.seed, device, classifier)
            name = str(path) if len(str(path)) <= 44 else "…" + str(path)[-43:]
            lines.append(f"{name:<44} {decoder:<24} {temperature:>5g} {q['frechet_distance']:>17.3f} {q['precision']:>10.3f} {q['recall']:>8.3f}")
    print(f"{args.num_samples} samples per row vs {len(datamodule.test_dataset)} test digits; k = 3; "
          "features: gennet's digit classifier (penultimate layer, 128 numbers)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
