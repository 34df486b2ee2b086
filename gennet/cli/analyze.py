"""``python analyze.py ckpt_path=CKPT output=DIR`` / ``gennet-analyze``: the analyses of DESIGN §11 and §14 on a classifier.

For any classifier checkpoint of :class:`~gennet.lit.ClassifierModule` (hybrid, Shared Local Encoder,
``sparse_scatnet``, ``scatnet``, ``resnet``, ``irevnet``), the sections of :mod:`gennet.cli.analysis_sections`, in
order: the angular spectrum of ``W₁`` and its thresholding (scattering front ends only), Lipschitz bounds,
progressive separation (1-NN, k-LSV), probes at each stage against a random control with contraction, and — for a
network with an exact inverse — reconstruction, interpolation, edition and local conditioning.

``analysis=null`` (default) runs every section that applies to the network; ``analysis=[probes,invertibility]``
runs exactly those, and a listed section that does not apply is one line naming it (exit 2, nothing written).
Writes into ``DIR`` the sections' figures (``<name>.png``), ``analysis.json`` (one entry per section) and
``analysis.md``; with ``wandb=true`` also logs them to a wandb run in ``DIR/wandb`` (offline unless a key is set).
Keys: ``gennet/conf/analyze.yaml``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch.utils.data import Subset

from ..errors import ConfigError, check_bool, check_int
from ..files import save_figure_atomic, write_text_atomic
from ..lit.classifier_module import ClassifierModule
from .analysis_sections import SECTIONS, Context, Section
from .checkpoints import load_module
from .devices import device_for
from .errors import user_errors
from .generation import datamodule_for
from .startup import check_output_dir, entry_point, writing

__all__ = ["main", "analyze", "load_classifier", "RESULTS"]

#: What analyze.py writes into its output directory; a directory holding any of them is an earlier result.
RESULTS = ("analysis.json", "analysis.md", *(f"{stem}.png" for section in SECTIONS for stem in section.files))


def load_classifier(path, device: torch.device) -> tuple[ClassifierModule, dict]:
    """The :class:`~gennet.lit.ClassifierModule` of a checkpoint (``weights_only=True``), in eval mode on ``device``."""
    return load_module(ClassifierModule, path, device, "classifier",
                       "train one with model=hybrid_scatnet, sle, sparse_scatnet, scatnet, resnet or irevnet")


def _subset(dataset, limit: int | None, seed: int):
    if limit is None or limit >= len(dataset):
        return dataset
    return Subset(dataset, torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:limit].tolist())


def _requested(cfg: DictConfig) -> list[Section] | None:
    """The sections named by ``analysis`` (``None``: every default section that applies)."""
    names = cfg.get("analysis")
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(n, str) for n in names) or not names:
        raise ConfigError("analysis", f"must be null or a non-empty list of section names, got {names!r}")
    known = {section.name: section for section in SECTIONS}
    unknown = [n for n in names if n not in known]
    if unknown or len(set(names)) != len(names):
        raise ConfigError("analysis", f"unknown or repeated section {(unknown or list(names))[0]!r}; known: {', '.join(known)}")
    return [section for section in SECTIONS if section.name in names]


def _selected(requested: list[Section] | None, network) -> tuple[list[Section], dict[str, str]]:
    """The sections to run on ``network`` and, for the others, why they do not apply."""
    skipped = {section.name: reason for section in SECTIONS if (reason := section.applies(network)) is not None}
    if requested is not None:
        refused = [section.name for section in requested if section.name in skipped]
        if refused:
            raise ConfigError("analysis", f"{refused[0]}: {skipped[refused[0]]}")
        return requested, {}
    return [section for section in SECTIONS if section.default and section.name not in skipped], skipped


def _check_images(module: ClassifierModule, image: torch.Tensor) -> None:
    """The data give images of the shape the network was trained on (else one line naming ``data.image_size``)."""
    hp = module.hparams
    expected = (int(hp.channels), int(hp.image_size), int(hp.image_size))
    if tuple(image.shape) != expected:
        raise ConfigError("data.image_size", f"the data give images of shape {tuple(image.shape)}; the network was trained "
                                             f"on {expected} (leave data.image_size and the data as recorded in the checkpoint)")


def _header(result: dict, skipped: dict[str, str]) -> list[str]:
    lines = [f"# Analysis of `{result['checkpoint']}`", "",
             f"Network: `{result['network']}`; test accuracy {100 * result['test_accuracy']:.2f}% on {result['test_images']} images.", ""]
    return lines + [f"Not applicable: `{name}` ({reason})." for name, reason in skipped.items()] + ([""] if skipped else [])


def analyze(cfg: DictConfig) -> dict:
    """Run the sections and write ``DIR/analysis.json``, ``analysis.md`` and the figures; returns the JSON content.

    Every key and the output directory are checked before any work: the directory must not be a file nor hold an
    earlier analysis (:data:`RESULTS`); every file is written through a temporary file and a rename.
    """
    with user_errors():
        requested = _requested(cfg)
        options = {section.name: section.check(cfg) for section in SECTIONS}
        max_images = None if cfg.max_images is None else check_int("max_images", cfg.max_images, 2)
        max_train_images = None if cfg.max_train_images is None else check_int("max_train_images", cfg.max_train_images, 2)
        output = check_output_dir("output", cfg.output, RESULTS)
        wandb = check_bool("wandb", cfg.get("wandb", False))
        device = device_for(cfg.device)
        module, checkpoint = load_classifier(cfg.ckpt_path, device)
        sections, skipped = _selected(requested, module.network)
        datamodule = datamodule_for(checkpoint, cfg.get("data"), cfg.ckpt_path)
        datamodule.setup("fit")
        datamodule.setup("test")
        _check_images(module, datamodule.test_dataset[0][0])
    seed = int(cfg.seed)
    torch.manual_seed(seed)
    context = Context(type(module.network).__name__, module.network,
                      _subset(datamodule.train_dataset, max_train_images, seed), _subset(datamodule.test_dataset, max_images, seed),
                      int(module.hparams.num_classes), device, datamodule.batch_size, seed, options)
    context.baseline = context.accuracy()
    result: dict = {"checkpoint": str(Path(str(cfg.ckpt_path)).resolve()), "network": context.name,
                    "test_accuracy": context.baseline, "test_images": len(context.test)}
    done = {section.name: section.run(context) for section in sections}

    paths = []
    for name, section in done.items():
        result[name] = section.numbers
    report = "\n".join(_header(result, skipped) + [line for section in done.values() for line in section.report]) + "\n"
    with writing("output", folders=[output]):  # every file, or none
        for section in done.values():
            paths += [save_figure_atomic(figure, output / f"{stem}.png") for stem, figure in section.figures.items()]
        write_text_atomic(output / "analysis.json", json.dumps(result, indent=2, default=_plain) + "\n")
        write_text_atomic(output / "analysis.md", report)
    if wandb:
        metrics = {"analysis/test_accuracy": result["test_accuracy"]}
        for section in done.values():
            metrics.update(section.metrics)
        _log_wandb(output, result["network"], metrics, paths)
    print(report)
    print("written: " + ", ".join(str(p.resolve()) for p in [*paths, output / "analysis.json", output / "analysis.md"]))
    if wandb:
        print(f"wandb: {(output / 'wandb').resolve()} (offline runs: wandb sync {output / 'wandb'}/offline-run-*)")
    return result


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _log_wandb(output: Path, network: str, metrics: dict[str, float], figures: list[Path]) -> None:
    """The figures and the headline numbers in a wandb run under ``output/wandb`` (offline unless a key is set)."""
    import wandb

    from ..lit.loggers import wandb_logger

    logger = wandb_logger(save_dir=str(output), name=f"analyze-{network}")
    logger.log_metrics(metrics)
    logger.experiment.log({f"analysis/{path.stem}": wandb.Image(str(path)) for path in figures})
    wandb.finish()


@entry_point("analyze")
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-analyze`` and ``python analyze.py``)."""
    analyze(cfg)


if __name__ == "__main__":
    main()
