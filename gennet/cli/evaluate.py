"""``python evaluate.py ckpt_path=CKPT [output=evaluation]`` / ``gennet-evaluate``.

Reconstruction quality on the training and test splits (PSNR in dB and SSIM for images in [−1, 1],
torchmetrics; the low-pass baseline's PSNR), the statistics of the sparse codes (nonzeros per pixel, the
relative duality gap of the Lasso at the returned codes, fraction of active coefficients, support size,
relative residual ‖w_band − Ãz‖/‖w_band‖; means over images), and the quality of samples ``G(w)``, ``w``
drawn from the Gaussian model of the embedding (at ``temperature``), against the test images:

- ``fid.feature=digits`` (the default, ``auto``, for the bundled 32×32 digits): the Fréchet distance and the
  improved precision/recall (Kynkäänniemi et al. 2019, k = 3) in the feature space of gennet's digit
  classifier (:mod:`gennet.metrics`, trained on the training digits only, shipped with the package), beside
  the same measures between the validation and the test digits (the real-vs-real floor);
- ``inception`` (the default for other data) or ``scattering``: a Fréchet distance (:mod:`gennet.metrics.frechet`).

The reconstruction measures: :func:`gennet.metrics.reconstruction.reconstruction_quality`.

Writes ``<output>.json`` and a Markdown table ``<output>.md``. Keys: ``gennet/conf/evaluate.yaml``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from ..data.mnist5k import MNIST5kDataModule
from ..errors import ConfigError, check_bool, check_int, check_number
from ..files import write_text_atomic
from ..metrics.digit_classifier import DigitClassifier, digit_classifier_metadata, load_digit_classifier
from ..metrics.digit_quality import digit_sample_quality, first_images, sample_digit_quality
from ..metrics.frechet import frechet_distance
from ..metrics.reconstruction import CODE_KEYS, reconstruction_quality
from ..models.decoding import decode_batches
from .devices import device_for
from .errors import user_errors
from .generation import datamodule_for, gaussian_for, load_generator
from .startup import check_output_file, entry_point, writing

__all__ = ["main", "evaluate", "is_digit_data"]

FEATURES = ("auto", "digits", "inception", "scattering", "none")


def _first_images(loader: DataLoader, n: int):
    """The first ``n`` images of ``loader``, in batches (the last one cut)."""
    seen = 0
    for x, _ in loader:
        if seen >= n:
            return
        yield x[: n - seen]
        seen += x.shape[0]


def is_digit_data(datamodule) -> bool:
    """The bundled digits at the digit classifier's size: :class:`~gennet.data.MNIST5kDataModule` with 32×32 images
    (``fid.feature=auto`` then means ``digits``)."""
    return isinstance(datamodule, MNIST5kDataModule) and tuple(datamodule.image_shape) == DigitClassifier.input_shape


def _classifier_note(datamodule) -> str:
    """What the digit classifier saw, and — when the checkpoint's split differs from the classifier's — how many of its
    validation and test digits the classifier was trained on (its features are then slightly optimistic there)."""
    meta = digit_classifier_metadata()
    note = (f"features: penultimate layer of gennet's digit classifier (test accuracy {100 * meta['test_accuracy']:.1f}%, "
            f"trained on the {meta['data']['train_images']} training digits of the seed-{meta['data']['split_seed']} split)")
    if isinstance(datamodule, MNIST5kDataModule):
        seen = MNIST5kDataModule(seed=meta["data"]["split_seed"]).split_indices["train"]
        for split in ("val", "test"):
            overlap = int(torch.isin(datamodule.split_indices[split], seen).sum())
            if overlap:
                note += f"; caution: {overlap} of this checkpoint's {split} digits (data.seed={datamodule.seed}) were among them"
    return note


def _markdown(result: dict) -> str:
    rows = ["| split | images | PSNR (dB) | SSIM | low-pass PSNR (dB) | nonzeros per pixel | duality gap | active coefficients "
            "| support size | relative residual |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for split in ("train", "test"):
        m = result[split]
        code = [f"{m[k]:.4g}" if k in m else "–" for k in CODE_KEYS]
        rows.append(f"| {split} | {m['images']} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['psnr_lowpass']:.2f} | " + " | ".join(code) + " |")
    fid = result["fid"]
    value = "–" if fid["value"] is None else f"{fid['value']:.3f}"
    name = "Fréchet distance" if fid["feature"] == "digits" else "FID"
    floor = f" (validation vs test digits: {fid['real_vs_real']:.3f})" if "real_vs_real" in fid else ""
    rows += ["", f"{name} ({fid['feature']} features, {fid['num_samples']} samples at temperature {fid['temperature']:g} "
                 f"vs {fid['num_real']} test images): {value}{floor} — {fid['status']}"]
    pr = result["precision_recall"]
    if pr["precision"] is not None:
        ref = pr["real_vs_real"]
        rows += ["", f"Precision / recall (Kynkäänniemi et al. 2019, k = {pr['k']}, {pr['feature']} features): "
                     f"{pr['precision']:.3f} / {pr['recall']:.3f} (validation vs test digits: {ref['precision']:.3f} / {ref['recall']:.3f})"]
    return f"# Evaluation of `{result['checkpoint']}`\n\n" + "\n".join(rows) + "\n"


def evaluate(cfg: DictConfig) -> dict:
    """Compute and write the evaluation; returns the dictionary written to ``<output>.json``.

    Every value and both output files are checked before any work (an existing ``<output>.json`` or
    ``<output>.md`` is an earlier result and is refused); they are written through a temporary file and a rename.
    """
    with user_errors():
        limit = None if cfg.max_images is None else check_int("max_images", cfg.max_images, 1)
        temperature = check_number("temperature", cfg.temperature, 0, strict=True)
        check_bool("refit", cfg.refit)
        if cfg.fid.num_samples is not None:
            check_int("fid.num_samples", cfg.fid.num_samples, 2)
        stem = Path(str(cfg.output)).expanduser()
        if stem.is_dir():
            raise ConfigError("output", f"'{stem}' is a directory; give a file stem (e.g. {stem / 'evaluation'} writes evaluation.json and .md)")
        json_path = check_output_file("output", stem.with_name(stem.name + ".json"))
        md_path = check_output_file("output", stem.with_name(stem.name + ".md"))
        feature = str(cfg.fid.feature)
        if feature not in FEATURES:
            raise ConfigError("fid.feature", f"must be one of {', '.join(FEATURES)}, got {feature!r}")
        device = device_for(cfg.device)
        module, checkpoint = load_generator(cfg.ckpt_path, device)
        datamodule = datamodule_for(checkpoint, cfg.get("data"), cfg.ckpt_path)
        if feature == "auto":
            feature = "digits" if is_digit_data(datamodule) else "inception"
        if feature == "digits" and tuple(datamodule.image_shape) != (1, 32, 32):
            shape = "×".join(map(str, datamodule.image_shape))
            raise ConfigError("fid.feature", f"digits features need 1×32×32 digits (data=mnist5k), this checkpoint's images are {shape}")
        datamodule.setup("fit")
        datamodule.setup("test")
        # the Gaussian model of w, read (a damaged file is one line) or fitted before the reconstruction pass
        model = None if feature == "none" else gaussian_for(module, cfg.ckpt_path, datamodule, device, cfg.covariance,
                                                            cfg.fit_images, cfg.refit)
    result: dict = {"checkpoint": str(Path(str(cfg.ckpt_path)).resolve())}
    for split in ("train", "test"):
        dataset = getattr(datamodule, f"{split}_dataset")
        loader = DataLoader(dataset, batch_size=datamodule.batch_size, num_workers=datamodule.num_workers)
        n = len(dataset) if limit is None else min(limit, len(dataset))
        result[split] = reconstruction_quality(module.generator, _first_images(loader, n), device,
                                               total=math.ceil(n / loader.batch_size), desc=f"evaluating {split}")

    real_count = result["test"]["images"]
    fid = {"feature": feature, "num_real": real_count, "num_samples": 0, "temperature": temperature, "value": None,
           "status": "not computed (fid.feature=none)"}
    pr = {"feature": feature, "k": 3, "precision": None, "recall": None, "status": "computed with fid.feature=digits only"}
    if feature != "none":
        n_fake = int(cfg.fid.num_samples or real_count)
        fid["num_samples"] = n_fake
    if feature == "digits":
        test, val = datamodule.test_dataset, datamodule.val_dataset
        quality = sample_digit_quality(module.generator, model, first_images(test, real_count), n_fake, temperature,
                                       int(cfg.seed), device, load_digit_classifier(device))
        floor = digit_sample_quality(first_images(test, real_count), first_images(val, real_count), device=device,
                                     classifier=load_digit_classifier(device))  # the real-vs-real floor
        status = _classifier_note(datamodule)
        fid.update(value=quality["frechet_distance"], real_vs_real=floor["frechet_distance"], status=status)
        pr.update(precision=quality["precision"], recall=quality["recall"], k=quality["k"], status=status,
                  real_vs_real={"precision": floor["precision"], "recall": floor["recall"]})
    elif feature != "none":
        w = model.sample(n_fake, generator=torch.Generator().manual_seed(int(cfg.seed)), temperature=temperature)
        test_loader = DataLoader(datamodule.test_dataset, batch_size=datamodule.batch_size, num_workers=datamodule.num_workers)
        real = _first_images(test_loader, real_count)
        shape = tuple(datamodule.image_shape)
        value, status = frechet_distance(real, decode_batches(module.generator, w.to(device)), shape, feature,
                                         cfg.fid.weights_path, device)
        fid.update(value=value, status=status)
    result["fid"] = fid
    result["precision_recall"] = pr

    with writing("output", folders=[json_path.parent]):  # both, or neither
        write_text_atomic(json_path, json.dumps(result, indent=2) + "\n")
        write_text_atomic(md_path, _markdown(result))
    print(_markdown(result))
    print(f"written: {json_path.resolve()}, {md_path.resolve()}")
    return result


@entry_point("evaluate")
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-evaluate`` and ``python evaluate.py``)."""
    evaluate(cfg)


if __name__ == "__main__":
    main()
