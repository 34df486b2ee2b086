"""Priors over ``w`` on faces (issue 15, item 5): sample grids, a scattering Fréchet distance, the copy check.

Data: the 100 real faces that ship with scikit-image (``skimage.data.lfw_subset()``, 25×25 grayscale) written as a
CelebA layout (``tests/layouts.py``; RGB JPEGs, read at 32×32 like ``compare_decoders.py``), split
``--split TRAIN,VAL,TEST`` (default 50 / 10 / 40: a test set large enough for a distance, a training set small
enough to expose replay). Each decoder (``gennet/conf/model/<decoder>.yaml``: the sparse generator, the CNN
decoder) is trained ``--epochs`` on the training faces; then each prior (``gennet.priors``) is fitted on the
training embeddings ``w = Φ(x)`` (the validation embeddings for the mixture's K, the flow's checkpoints), and
``--num-samples`` samples ``G(w)`` are judged against the test faces. Rows, per decoder:

- floor: the training faces themselves against the test faces (real vs real, what a perfect prior would reach);
- ceiling: the reconstructions ``G(Φ(x_test))`` of the test faces;
- per prior × temperature: the samples.

Columns: the Fréchet distance in download-free scattering features (:class:`gennet.metrics.ScatteringStatistics`
of the gray channel — the faces are gray — 217 numbers: ``log(1 + spatial means)`` of a 2nd-order scattering, J=3,
L=8; printed ×10³; not comparable with Inception FIDs; with 40 test faces it is biased upwards and noisy: compare
rows, not papers); the copy check: the fraction of samples closer to a training face than the 5th percentile of the test
faces' own nearest-training distances, in pixels (ℓ2, [−1, 1]) and in the scattering features (5% for a sampler of
new faces; more means the prior replays its training set); and the median nearest-training pixel distance of the
samples beside that of the test faces. PNG grids of 64 samples (8×8, upscaled to be legible) with ``--grids``.

    python benchmarks/face_samples.py --grids runs/face_grids
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without install
from benchmarks.compare_decoders import DECODERS, model_settings  # noqa: E402
from gennet.data import CelebADataModule  # noqa: E402
from gennet.figures.image_grid import save_image_grid  # noqa: E402
from gennet.lit import GeneratorModule  # noqa: E402
from gennet.metrics.frechet import frechet_distance  # noqa: E402
from gennet.metrics.memorization import nearest_training_distances  # noqa: E402
from gennet.metrics.scattering_statistics import ScatteringStatistics  # noqa: E402
from gennet.models.decoding import decode_batches  # noqa: E402
from gennet.priors import GaussianEmbedding, GaussianMixturePrior, MultiscalePrior, PCAFlowPrior, lowpass_channels  # noqa: E402
from tests.layouts import write_celeba  # noqa: E402


def gray(x: torch.Tensor) -> torch.Tensor:
    """The faces are gray written as RGB: their mean channel, ``(B, 1, H, W)``."""
    return x.mean(1, keepdim=True)


def fd(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Fréchet distance in scattering features of the gray channel."""
    distance, _ = frechet_distance([gray(real)], [gray(fake)], (1, *real.shape[-2:]), feature="scattering")
    return distance


@torch.no_grad()
def copies(samples: torch.Tensor, train: torch.Tensor, test: torch.Tensor, features: ScatteringStatistics) -> dict:
    """Nearest-training distances of the samples against the test faces', in pixels and in scattering features."""
    out = {}
    feats = {name: features(((gray(x) + 1) / 2).clamp(0, 1)) for name, x in (("train", train), ("test", test), ("samples", samples))}
    out["pixels"] = nearest_training_distances(samples.flatten(1), train.flatten(1), test.flatten(1))
    out["features"] = nearest_training_distances(feats["samples"], feats["train"], feats["test"])
    return out


def train_decoder(datamodule, decoder: str, epochs: int, seed: int) -> GeneratorModule:
    """``gennet/conf/model/<decoder>.yaml`` trained ``epochs`` on the training faces (as ``compare_decoders.py``)."""
    import lightning.pytorch as pl

    pl.seed_everything(seed, workers=True, verbose=False)
    model = GeneratorModule(image_size=datamodule.image_size, channels=datamodule.num_channels, **model_settings(decoder, seed))
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0)
    trainer.fit(model, datamodule=datamodule)
    return model.eval()


def fit_prior(name: str, train_w: torch.Tensor, val_w: torch.Tensor, args):
    shape = tuple(train_w.shape[1:])
    start = time.perf_counter()
    if name == "gaussian":
        prior = GaussianEmbedding(shape).fit_(train_w.split(256))
    elif name == "mixture":
        prior = GaussianMixturePrior(shape, num_components=args.mixture_k, dim=args.mixture_d).fit_(train_w, val_w)
    elif name == "pca_flow":
        prior = PCAFlowPrior(shape, dim=args.flow_dim, width=args.flow_width, seed=args.seed)
        prior.fit_(train_w, val_w, steps=args.flow_steps, batch_size=min(256, len(train_w)), lr=1e-3, seed=args.seed)
    elif name == "multiscale":
        prior = MultiscalePrior(shape, lowpass_channels(shape, args.channels), radius=args.multiscale_radius,
                                shrinkage=args.multiscale_shrinkage, ridge=args.multiscale_ridge).fit_(train_w)
    else:
        raise SystemExit(f"error: --priors: unknown prior {name!r} (gaussian, mixture, pca_flow, multiscale)")
    return prior, time.perf_counter() - start


def row(label: str, T: str, distance: float, mem: dict) -> str:
    return (f"{label:<28} {T:>4} {1e3 * distance:>8.3f} {mem['pixels']['copies']:>9.3f} {mem['features']['copies']:>9.3f} "
            f"{mem['pixels']['median_sample']:>9.2f} {mem['pixels']['median_test']:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="50,10,40", help="TRAIN,VAL,TEST faces (at most 100 in all)")
    parser.add_argument("--decoders", nargs="+", default=list(DECODERS.values()), help="model configs (generator, cnn_generator)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--priors", nargs="+", default=["gaussian", "mixture", "pca_flow", "multiscale"])
    parser.add_argument("--mixture-k", type=int, default=4)
    parser.add_argument("--mixture-d", type=int, default=16)
    parser.add_argument("--flow-dim", type=int, default=16)
    parser.add_argument("--flow-width", type=int, default=256)
    parser.add_argument("--flow-steps", type=int, default=300)
    parser.add_argument("--multiscale-radius", type=int, default=1)
    parser.add_argument("--multiscale-shrinkage", type=float, default=0.05)
    parser.add_argument("--multiscale-ridge", type=float, default=0.1)
    parser.add_argument("--temperatures", nargs="+", type=float, default=[0.8, 1.0])
    parser.add_argument("--num-samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grids", type=Path, default=None, help="folder for 64-sample PNG grids")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    try:
        n_train, n_val, n_test = (int(s) for s in args.split.split(","))
    except ValueError:
        sys.exit(f"error: --split: TRAIN,VAL,TEST counts, got {args.split!r}")
    if args.grids:
        args.grids.mkdir(parents=True, exist_ok=True)
    features = ScatteringStatistics((32, 32), 1)
    header = (f"{'rows':<28} {'T':>4} {'FD ×1e3':>8} {'copies px':>9} {'copies ft':>9} {'NN px smp':>9} {'NN px test':>9}")
    lines = [header, "-" * len(header)]
    with tempfile.TemporaryDirectory() as scratch:
        root = write_celeba(Path(scratch), {"train": n_train, "valid": n_val, "test": n_test})
        datamodule = CelebADataModule(root, batch_size=16, image_size=32, num_workers=0, seed=args.seed)
        datamodule.setup()
        args.channels = datamodule.num_channels
        data = {split: torch.stack([getattr(datamodule, f"{split}_dataset")[i][0] for i in range(n)])
                for split, n in (("train", n_train), ("val", n_val), ("test", n_test))}
        lines.append(row(f"training faces (floor, {n_train})", "–", fd(data["test"], data["train"]),
                         copies(data["val"], data["train"], data["test"], features)))
        print(lines[-1], flush=True)
        if args.grids:
            save_image_grid(data["test"][:64], args.grids / "test_faces.png", nrow=8)
            save_image_grid(data["train"][:64], args.grids / "train_faces.png", nrow=8)  # what a replaying prior draws
        for decoder in args.decoders:
            start = time.perf_counter()
            module = train_decoder(datamodule, decoder, args.epochs, args.seed)
            train_seconds = time.perf_counter() - start
            generator = module.generator
            with torch.no_grad():
                w = {split: generator.encode(x) for split, x in data.items()}
                recon = torch.cat(list(decode_batches(generator, w["test"])))
            label = {"generator": "sparse", "cnn_generator": "CNN"}.get(decoder, decoder)
            lines.append(row(f"{label}: ceiling G(Φ(x_test))", "–", fd(data["test"], recon), copies(recon, data["train"], data["test"], features)))
            print(lines[-1], f"(trained {args.epochs} epochs in {train_seconds:.0f} s)", flush=True)
            for name in args.priors:
                prior, fit_seconds = fit_prior(name, w["train"], w["val"], args)
                for temperature in args.temperatures:
                    start = time.perf_counter()
                    draws = prior.sample(args.num_samples, torch.Generator().manual_seed(args.seed), temperature)
                    with torch.no_grad():
                        samples = torch.cat(list(decode_batches(generator, draws))).clamp(-1, 1)
                    seconds = time.perf_counter() - start
                    lines.append(row(f"{label}: {name}", f"{temperature:g}", fd(data["test"], samples),
                                     copies(samples, data["train"], data["test"], features)))
                    print(lines[-1], f"(fit {fit_seconds:.1f} s, {args.num_samples} samples {seconds:.1f} s)", flush=True)
                    if args.grids:
                        save_image_grid(samples[:64], args.grids / f"{label}_{name}_T{temperature:g}.png", nrow=8)
    print(f"\n{args.num_samples} samples per prior row against {n_test} test faces (LFW subset, 32×32); floor: the "
          f"{n_train} training faces; Fréchet distance (×10³) on the gray channel's scattering statistics; copies: fraction nearer "
          "a training face than the test faces' 5th percentile (pixels / features); NN px: median nearest-training "
          "ℓ2 distance, samples / test faces")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
