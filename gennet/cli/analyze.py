"""``python analyze.py ckpt_path=CKPT output=DIR`` / ``gennet-analyze``: the analyses of DESIGN §11 and §14 on a classifier.

For any classifier checkpoint of :class:`~gennet.lit.ClassifierModule` (hybrid, Shared Local Encoder,
``sparse_scatnet``, ``scatnet``, ``resnet``, ``irevnet``), the sections of :mod:`gennet.cli.analysis_sections`, in
order: the angular spectrum of ``W₁`` and its thresholding (scattering front ends only), Lipschitz bounds,
progressive separation (1-NN, k-LSV), probes at each stage against a random control with contraction, and — for a
network with an exact inverse — reconstruction, interpolation, edition and local conditioning.

``analysis=null`` (default) runs every section that applies to the network; ``analysis=[probes,invertibility]``
runs exactly those, and a listed section that does not apply is one line naming it (exit 2, nothing written).
The sections of what a network relies on (DESIGN §15: ``frequency``, ``margins``, ``robustness``, ``spectral``) run
only when listed; ``runs=RUNS_DIR`` (instead of ``ckpt_path``) runs them on every run under ``RUNS_DIR`` with one
comparison table (:mod:`gennet.cli.analysis_sections.runs`).
Writes into ``DIR`` the sections' figures (``<name>.png``), ``analysis.json`` (one entry per section) and
``analysis.md``; with ``wandb=true`` also logs them to a wandb run in ``DIR/wandb`` (offline unless a key is set).
Keys: ``gennet/conf/analyze.yaml``.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import torch
from omegaconf import DictConfig

from ..errors import ConfigError, check_bool, check_int
from ..files import save_figure_atomic, write_text_atomic
from ..lit.classifier_module import ClassifierModule
from .analysis_sections import SECTIONS, Context, Section
from .analysis_sections.section import subset
from .checkpoints import load_module
from .devices import device_for
from .errors import user_errors
from .generation import datamodule_for
from .startup import check_output_dir, entry_point, writing

__all__ = ["main", "analyze", "compare", "load_classifier", "RESULTS"]

#: What analyze.py writes into its output directory; a directory holding any of them is an earlier result.
RESULTS = ("analysis.json", "analysis.md", *(f"{stem}.png" for section in SECTIONS for stem in section.files))


def load_classifier(path, device: torch.device) -> tuple[ClassifierModule, dict]:
    """The :class:`~gennet.lit.ClassifierModule` of a checkpoint (``weights_only=True``), in eval mode on ``device``."""
    return load_module(ClassifierModule, path, device, "classifier",
                       "train one with model=hybrid_scatnet, sle, sparse_scatnet, scatnet, resnet or irevnet")


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
    requested = [section for section in SECTIONS if section.name in names]
    for section in requested:
        missing = [library for library in section.requires if importlib.util.find_spec(library) is None]
        if missing:
            raise ConfigError("analysis", f"the {section.name} section needs {missing[0]}, which is not installed: "
                                          "pip install 'gennet[analysis]'")
    return requested


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
                      subset(datamodule.train_dataset, max_train_images, seed), subset(datamodule.test_dataset, max_images, seed),
                      int(module.hparams.num_classes), device, datamodule.batch_size, seed, options)
    context.baseline = context.accuracy()
    result: dict = {"checkpoint": str(Path(str(cfg.ckpt_path)).resolve()), "network": context.name,
                    "test_accuracy": context.baseline, "test_images": len(context.test)}
    done = {section.name: section.run(context) for section in sections}

    figures = {stem: figure for section in done.values() for stem, figure in section.figures.items()}
    paths = [output / f"{stem}.png" for stem in figures]
    for name, section in done.items():
        result[name] = section.numbers
    report = "\n".join(_header(result, skipped) + [line for section in done.values() for line in section.report]) + "\n"
    with writing("output", folders=[output]):  # every file, or none
        for figure, path in zip(figures.values(), paths):
            save_figure_atomic(figure, path)
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


def compare(cfg: DictConfig) -> dict:
    """``runs=RUNS_DIR``: the ``analysis`` sections (those with a figure of several networks; ``null``: all of them) on
    every run under it and their comparison table, written to ``output``
    (:func:`gennet.cli.analysis_sections.runs.compare_runs`); returns the content of ``comparison.json``."""
    from .analysis_sections.runs import RESULTS as COMPARISON
    from .analysis_sections.runs import compare_runs

    with user_errors():
        requested = _requested(cfg)
        sections = requested or [section for section in SECTIONS if section.compare is not None]
        single = [section.name for section in sections if section.compare is None]
        if single:
            raise ConfigError("analysis", f"{single[0]} is measured per checkpoint (analyze.py ckpt_path=…); runs=DIR "
                                          f"compares {', '.join(s.name for s in SECTIONS if s.compare)}")
        options = {section.name: section.check(cfg) for section in SECTIONS}
        options["consistency_images"] = check_int("consistency.images", cfg.consistency.images, 2)
        limits = tuple(None if cfg[key] is None else check_int(key, cfg[key], 2) for key in ("max_images", "max_train_images"))
        output = check_output_dir("output", cfg.output, COMPARISON)
        device = device_for(cfg.device)
        wandb = check_bool("wandb", cfg.get("wandb", False))
    torch.manual_seed(int(cfg.seed))
    with user_errors(catch_value_errors=False):
        result = compare_runs(Path(str(cfg.runs)).expanduser(), output, sections, options, limits, device, int(cfg.seed),
                              load_classifier)
    if wandb:
        _log_comparison(output, result)
    print(result["table"])
    print("written: " + ", ".join([str((output / name).resolve()) for name in ("comparison.json", "comparison.md")]
                                  + result["figures"]))
    return result


def _log_comparison(output: Path, result: dict) -> None:
    """The comparison's figures and table in a wandb run under ``output/wandb`` (offline unless a key is set)."""
    import wandb

    from ..lit.loggers import wandb_logger

    logger = wandb_logger(save_dir=str(output), name="analyze-runs")
    table = wandb.Table(columns=["measure", *result["rows"]])
    measures = list(dict.fromkeys(m for row in result["rows"].values() for m in row if m != "network"))
    for measure in measures:
        table.add_data(measure, *[str(row.get(measure, "–")) for row in result["rows"].values()])
    logger.experiment.log({"comparison/table": table,
                           **{f"comparison/{Path(p).stem}": wandb.Image(p) for p in result["figures"]}})
    wandb.finish()


@entry_point("analyze")
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-analyze`` and ``python analyze.py``)."""
    compare(cfg) if cfg.get("runs") else analyze(cfg)


if __name__ == "__main__":
    main()
