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
- ``inception`` (the default for other data) or ``scattering``: a Fréchet distance (:mod:`gennet.cli.fid`).

Writes ``<output>.json`` and a Markdown table ``<output>.md``. Keys: ``gennet/conf/evaluate.yaml``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure
from tqdm.auto import tqdm

from ..errors import ConfigError, check_int
from ..files import write_text_atomic
from .digit_quality import classifier_note, is_digit_data, real_digit_quality, sample_digit_quality
from .errors import user_errors
from .fid import frechet_distance
from .generation import datamodule_for, decode, device_for, gaussian_for, load_generator
from .startup import check_bool, check_number, check_output_file, entry_point

__all__ = ["main", "evaluate"]

FEATURES = ("auto", "digits", "inception", "scattering", "none")

_CODE_KEYS = ("nonzeros_per_pixel", "duality_gap", "sparsity", "support_size", "relative_residual")


def _first_images(loader: DataLoader, n: int):
    """The first ``n`` images of ``loader``, in batches (the last one cut)."""
    seen = 0
    for x, _ in loader:
        if seen >= n:
            return
        yield x[: n - seen]
        seen += x.shape[0]


@torch.no_grad()
def _split_metrics(module, loader: DataLoader, n: int, device: torch.device, name: str) -> dict[str, float]:
    psnr, lowpass = PeakSignalNoiseRatio(data_range=2.0).to(device), PeakSignalNoiseRatio(data_range=2.0).to(device)
    ssim = StructuralSimilarityIndexMeasure(data_range=2.0).to(device)
    totals, count = dict.fromkeys(_CODE_KEYS, 0.0), 0
    for x in tqdm(_first_images(loader, n), total=math.ceil(n / loader.batch_size), desc=f"evaluating {name}", leave=False):
        x = x.to(device)
        w = module.generator.encode(x)
        x_hat, stats = module.generator.decode(w, return_stats=True)
        x_hat = x_hat.float().clamp(-1, 1)
        psnr.update(x_hat, x)
        ssim.update(x_hat, x)
        lowpass.update(module.generator.lowpass_image(w).float().clamp(-1, 1), x)
        if stats is not None:
            for key in _CODE_KEYS:
                totals[key] += float(getattr(stats, key)) * x.shape[0]
        count += x.shape[0]
    out = {"images": count, "psnr": float(psnr.compute()), "ssim": float(ssim.compute()), "psnr_lowpass": float(lowpass.compute())}
    if stats is not None:
        out.update({key: totals[key] / count for key in _CODE_KEYS})
    return out


def _markdown(result: dict) -> str:
    rows = ["| split | images | PSNR (dB) | SSIM | low-pass PSNR (dB) | nonzeros per pixel | duality gap | active coefficients "
            "| support size | relative residual |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for split in ("train", "test"):
        m = result[split]
        code = [f"{m[k]:.4g}" if k in m else "–" for k in _CODE_KEYS]
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
    result: dict = {"checkpoint": str(Path(str(cfg.ckpt_path)).resolve())}
    for split in ("train", "test"):
        dataset = getattr(datamodule, f"{split}_dataset")
        loader = DataLoader(dataset, batch_size=datamodule.batch_size, num_workers=datamodule.num_workers)
        n = len(dataset) if limit is None else min(limit, len(dataset))
        result[split] = _split_metrics(module, loader, n, device, split)

    real_count = result["test"]["images"]
    fid = {"feature": feature, "num_real": real_count, "num_samples": 0, "temperature": temperature, "value": None,
           "status": "not computed (fid.feature=none)"}
    pr = {"feature": feature, "k": 3, "precision": None, "recall": None, "status": "computed with fid.feature=digits only"}
    if feature != "none":
        with user_errors():
            model = gaussian_for(module, cfg.ckpt_path, datamodule, device, cfg.covariance, cfg.fit_images, cfg.refit)
        n_fake = int(cfg.fid.num_samples or real_count)
        fid["num_samples"] = n_fake
    if feature == "digits":
        quality = sample_digit_quality(module, model, datamodule, real_count, n_fake, temperature, int(cfg.seed), device)
        floor = real_digit_quality(datamodule, real_count, device)
        status = classifier_note(datamodule)
        fid.update(value=quality["frechet_distance"], real_vs_real=floor["frechet_distance"], status=status)
        pr.update(precision=quality["precision"], recall=quality["recall"], k=quality["k"], status=status,
                  real_vs_real={"precision": floor["precision"], "recall": floor["recall"]})
    elif feature != "none":
        w = model.sample(n_fake, generator=torch.Generator().manual_seed(int(cfg.seed)), temperature=temperature)
        test_loader = DataLoader(datamodule.test_dataset, batch_size=datamodule.batch_size, num_workers=datamodule.num_workers)
        real = _first_images(test_loader, real_count)
        shape = tuple(datamodule.image_shape)
        value, status = frechet_distance(real, decode(module, w.to(device)), shape, feature, cfg.fid.weights_path, device)
        fid.update(value=value, status=status)
    result["fid"] = fid
    result["precision_recall"] = pr

    json_path.parent.mkdir(parents=True, exist_ok=True)
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
