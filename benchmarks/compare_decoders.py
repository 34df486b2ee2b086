"""The sparse-inverse generator against the CNN decoder of Angles & Mallat (DESIGN §6), side by side.

Both decoders invert the same fixed embedding ``Φ = L∘U`` and are trained the same way (the
``GeneratorModule`` of ``train.py``, with the settings of ``gennet/conf/model/generator.yaml`` and
``gennet/conf/model/cnn_generator.yaml``), for the same number of epochs, on

- ``digits``: the 5,000 bundled MNIST digits (32×32, 4,000 train / 500 test);
- ``faces``: a CelebA layout of 100 real faces (scikit-image's LFW subset, 80 train / 10 test; RGB 32×32),
  or your own CelebA with ``--celeba-root``.

Two budgets per dataset: **equal epochs** (both decoders for ``--*-epochs``), and **equal wall-clock** (the
faster decoder gets as many more whole epochs as fit in the slower one's training time; its cosine schedule
spans them). Printed per run: PSNR (dB) on the training and test images, test SSIM, the low-pass baseline's
test PSNR, the sparse code's nonzeros per pixel and mean relative duality gap on the test images (–: the CNN
has no code), learned parameters, epochs, and seconds per training epoch (this machine, ``--threads``).

    python benchmarks/compare_decoders.py --digit-epochs 4 --face-epochs 30 --threads 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without install
from gennet.data import CelebADataModule, MNIST5kDataModule  # noqa: E402
from gennet.lit import GeneratorModule  # noqa: E402

DECODERS = {"sparse (ours)": "generator", "CNN (Angles & Mallat)": "cnn_generator"}


def model_settings(name: str, seed: int) -> dict:
    """The ``model`` group ``gennet/conf/model/<name>.yaml`` as constructor arguments."""
    cfg = OmegaConf.load(REPO / "gennet" / "conf" / "model" / f"{name}.yaml")
    cfg.seed = seed
    settings = OmegaConf.to_container(cfg, resolve=True)
    settings.pop("_target_")
    settings.pop("_recursive_", None)  # the module builds its decoder from the plain-type description
    return settings


def benchmark_datamodule(data: str, scratch: Path, seed: int, celeba_root: str | None = None):
    """The data of these benchmarks: ``digits`` (the 5,000 bundled digits, 32×32) or ``faces`` (``celeba_root``, or a
    CelebA layout of 100 LFW faces written under ``scratch``; RGB 32×32)."""
    if data == "digits":
        return MNIST5kDataModule(batch_size=64, image_size=32, seed=seed)
    if celeba_root is None:
        from tests.layouts import write_celeba

        celeba_root = write_celeba(scratch)
    return CelebADataModule(celeba_root, batch_size=16, image_size=32, num_workers=0, seed=seed)


def train_and_measure(datamodule, decoder: str, epochs: int, seed: int, **overrides) -> dict:
    """Train ``gennet/conf/model/<decoder>.yaml`` (with ``overrides``) for ``epochs``; test metrics on the training and test images."""
    import lightning.pytorch as pl

    pl.seed_everything(seed, workers=True, verbose=False)
    settings = {**model_settings(decoder, seed), **overrides}
    model = GeneratorModule(image_size=datamodule.image_size, channels=datamodule.num_channels, **settings)
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         limit_val_batches=0)
    start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
    seconds = (time.perf_counter() - start) / epochs
    datamodule.setup("fit")
    results = {}
    for split, loader in (("train", datamodule._loader(datamodule.train_dataset, train=False)), ("test", datamodule.test_dataloader())):
        (metrics,) = trainer.test(model, dataloaders=loader, verbose=False)
        results[split] = metrics
    return {
        "psnr_train": results["train"]["test/psnr"],
        "psnr_test": results["test"]["test/psnr"],
        "ssim_test": results["test"]["test/ssim"],
        "psnr_lowpass": results["test"]["test/psnr_lowpass"],
        "nonzeros_per_pixel": results["test"].get("test/nonzeros_per_pixel"),
        "duality_gap": results["test"].get("test/duality_gap"),
        "params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "epochs": epochs,
        "seconds_per_epoch": seconds,
    }


def _code(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digit-epochs", type=int, default=4)
    parser.add_argument("--face-epochs", type=int, default=30)
    parser.add_argument("--celeba-root", default=None, help="a CelebA layout (default: 100 LFW faces, built here)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        datasets = {
            "digits": (benchmark_datamodule("digits", Path(tmp), args.seed), args.digit_epochs),
            "faces": (benchmark_datamodule("faces", Path(tmp), args.seed, args.celeba_root), args.face_epochs),
        }
        rows = []
        for data_name, (datamodule, epochs) in datasets.items():
            equal = {label: train_and_measure(datamodule, decoder, epochs, args.seed) for label, decoder in DECODERS.items()}
            rows += [(data_name, "equal epochs", label, m) for label, m in equal.items()]
            # equal wall-clock: the faster decoder trains for the slower one's time, in whole epochs
            budget = max(m["seconds_per_epoch"] * m["epochs"] for m in equal.values())
            for label, m in equal.items():
                more = int(budget // m["seconds_per_epoch"])
                if more > m["epochs"]:
                    rows.append((data_name, "equal wall-clock", label, train_and_measure(datamodule, DECODERS[label], more, args.seed)))
                else:
                    rows.append((data_name, "equal wall-clock", label, m))

    print(f"\ntorch {torch.__version__}, {args.threads} threads, seed {args.seed}; PSNR in dB (images in [-1, 1])\n")
    print("| data | budget | decoder | epochs | PSNR train | PSNR test | SSIM test | low-pass PSNR | nonzeros / pixel | duality gap "
          "| parameters | s / epoch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for data_name, budget, label, m in rows:
        print(f"| {data_name} | {budget} | {label} | {m['epochs']} | {m['psnr_train']:.2f} | {m['psnr_test']:.2f} | "
              f"{m['ssim_test']:.3f} | {m['psnr_lowpass']:.2f} | {_code(m['nonzeros_per_pixel'], 3)} | "
              f"{_code(m['duality_gap'], 4)} | {m['params']:,} | {m['seconds_per_epoch']:.1f} |")


if __name__ == "__main__":
    main()
