"""``python analyze.py ckpt_path=CKPT output=DIR`` / ``gennet-analyze``: the analyses of DESIGN §11 on a classifier.

For any classifier checkpoint of :class:`~gennet.lit.ClassifierModule` (hybrid, Shared Local Encoder,
``sparse_scatnet``, ``scatnet``; and ``resnet``, which has no scattering front end and so no angular part):

- the angular Fourier spectrum ``Ω₁``, ``Ω₂`` of the first learned layer ``W₁`` on the scattering channels, and
  the test accuracy when only the largest ``p%`` of its angular Fourier coefficients are kept
  (:mod:`gennet.analysis.angular`);
- per-layer Lipschitz upper bounds, their product and an empirical lower bound (:mod:`gennet.analysis.lipschitz`);
- at each stage, the 1-NN test accuracy and the number of k-Local Support Vectors
  (:mod:`gennet.analysis.separation`).

Writes into ``DIR``: ``angular_spectrum.png``, ``thresholding.png`` (scattering front ends only),
``lipschitz.png``, ``separation.png``, ``analysis.json`` and ``analysis.md``; with ``wandb=true`` also logs them
to a wandb run in ``DIR/wandb`` (offline unless a key is set). Keys: ``gennet/conf/analyze.yaml``.

``analysis=[frequency,margins,robustness,spectral]`` adds the sections of DESIGN §15 (what the network relies
on; :mod:`gennet.cli.analysis_sections`), and ``runs=RUNS_DIR`` (instead of ``ckpt_path``) runs them on every
run under ``RUNS_DIR`` with a comparison table (:mod:`gennet.cli.analysis_sections.runs`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from ..analysis import (
    angular_spectrum,
    empirical_lipschitz,
    first_layer,
    lipschitz_upper_bound,
    local_support_vectors,
    nearest_neighbour_accuracy,
    network_stages,
    replaced_weight,
    stage_features,
    threshold_angular,
)
from ..errors import ConfigError, check_bool, check_int, check_number
from ..figures.analysis import angular_figure, lipschitz_figure, separation_figure, thresholding_figure
from ..files import save_figure_atomic, write_text_atomic
from ..lit.classifier_module import ClassifierModule
from .analysis_report import markdown_report
from .analysis_sections import Context, check_options, check_sections, run_sections
from .checkpoints import load_module
from .devices import device_for
from .errors import user_errors
from .generation import datamodule_for
from .startup import check_output_dir, entry_point, writing

__all__ = ["main", "analyze", "compare", "load_classifier"]


def load_classifier(path, device: torch.device) -> tuple[ClassifierModule, dict]:
    """The :class:`~gennet.lit.ClassifierModule` of a checkpoint (``weights_only=True``), in eval mode on ``device``."""
    return load_module(ClassifierModule, path, device, "classifier",
                       "train one with model=hybrid_scatnet, sle, sparse_scatnet, scatnet or resnet")


def _subset(dataset, limit: int | None, seed: int):
    if limit is None or limit >= len(dataset):
        return dataset
    return Subset(dataset, torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:limit].tolist())


def _batches(dataset, batch_size: int, device: torch.device, desc: str):
    loader = DataLoader(dataset, batch_size=batch_size)
    for x, y in tqdm(loader, desc=desc, leave=False):
        yield x.to(device), y


@torch.no_grad()
def _accuracy(network, test, batch_size: int, device: torch.device) -> float:
    correct = sum(int((network(x).argmax(1).cpu() == y).sum()) for x, y in _batches(test, batch_size, device, "accuracy"))
    return correct / len(test)


def _check(cfg: DictConfig) -> dict:
    keep = [float(p) for p in cfg.keep_percent]
    if not keep or any(not 0 < p <= 100 for p in keep):
        raise ConfigError("keep_percent", f"must be a non-empty list of percentages in (0, 100], got {list(cfg.keep_percent)}")
    ks = [check_int(f"lsv_k[{i}]", k, 1) for i, k in enumerate(cfg.lsv_k)]
    if not ks:
        raise ConfigError("lsv_k", "must list at least one k")
    return dict(
        keep=sorted(set(keep) | {100.0}, reverse=True), ks=ks,
        max_images=None if cfg.max_images is None else check_int("max_images", cfg.max_images, 2),
        max_train_images=None if cfg.max_train_images is None else check_int("max_train_images", cfg.max_train_images, max(ks)),
        pairs=check_int("lipschitz.pairs", cfg.lipschitz.pairs, 1),
        steps=check_int("lipschitz.steps", cfg.lipschitz.steps, 0),
        power_iterations=check_int("lipschitz.power_iterations", cfg.lipschitz.power_iterations, 1),
        lr=check_number("lipschitz.lr", cfg.lipschitz.lr, 0, strict=True),
    )


def _angular(network, test, example, keep: list[float], batch_size: int, device, baseline: float) -> dict | None:
    found = first_layer(network, example)
    if found is None:
        return None
    weight = found.module.weight.detach()
    spectrum = angular_spectrum(weight, found.layout)
    curve = []
    for percent in tqdm(keep, desc="thresholding W1", leave=False):
        thresholded, kept = threshold_angular(weight, found.layout, percent / 100)
        with replaced_weight(found.module, thresholded):
            accuracy = baseline if kept == 1.0 else _accuracy(network, test, batch_size, device)
        curve.append({"keep": percent / 100, "kept": kept, "accuracy": accuracy, "baseline": baseline})
    twenty = min(curve, key=lambda point: abs(point["keep"] - 0.2))
    omega1, omega2 = spectrum.omega1, spectrum.omega2
    return {
        "layer": found.name, "shape": list(weight.shape), "channels": found.layout.num_channels,
        "omega1": omega1.tolist(), "omega1_per_scale": spectrum.omega1_per_scale.tolist(), "omega2": omega2.tolist(),
        "omega1_fraction_at_zero": float(omega1[0] / omega1.sum()) if omega1.sum() > 0 else None,
        "omega2_fraction_at_zero": float(omega2[0, 0] / omega2.sum()) if omega2.sum() > 0 else 0.0,
        "energy": spectrum.energy, "thresholding": curve,
        "delta_at_80_removed": twenty["accuracy"] - baseline, "kept_at_80_removed": twenty["kept"],
        "spectrum": spectrum,
    }


def _lipschitz(network, test, example, options: dict, device, seed: int) -> dict:
    stages = network_stages(network)
    rows, product = lipschitz_upper_bound(stages, example, n_iter=options["power_iterations"])
    P = min(options["pairs"], len(test) // 2)
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[: 2 * P].tolist()
    images = torch.stack([test[i][0] for i in order]).to(device)
    x, y = images[:P], images[P:]
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed)).to(device)
    near = x + 0.01 * noise * x.flatten(1).norm(dim=1)[:, None, None, None] / noise.flatten(1).norm(dim=1)[:, None, None, None]
    far = empirical_lipschitz(network, x, y, steps=options["steps"], lr=options["lr"])
    local = empirical_lipschitz(network, x, near, steps=options["steps"], lr=options["lr"])
    empirical = {"initial": max(far["initial"], local["initial"]), "final": max(far["final"], local["final"]),
                 "test_pairs": far, "perturbed_pairs": local}
    return {"layers": [dict(row.__dict__, input_shape=list(row.input_shape)) for row in rows], "rows": rows,
            "product": product, "empirical": empirical, "pairs": 2 * P, "steps": options["steps"]}


def _features(stages, dataset, batch_size: int, device, desc: str) -> tuple[dict, torch.Tensor]:
    """Every stage's features of ``dataset`` and its labels, in one pass over the images."""
    labels = []

    def images():
        for x, y in _batches(dataset, batch_size, device, desc):
            labels.append(y)
            yield x

    features = stage_features(stages, images())
    return features, torch.cat(labels).long()


def _separation(network, train, test, ks: list[int], batch_size: int, device) -> dict:
    stages = network_stages(network)
    references, train_labels = _features(stages, train, batch_size, device, "features (train)")
    queries, test_labels = _features(stages, test, batch_size, device, "features (test)")
    out = []
    for name, _ in stages:
        r, q = references[name], queries[name]
        out.append({"stage": name, "dimension": int(q.shape[1]),
                    "nn_accuracy": nearest_neighbour_accuracy(q, test_labels, r, train_labels),
                    "lsv": local_support_vectors(q, test_labels, r, train_labels, ks)})
    return {"stages": out, "queries": len(test), "references": len(train)}


def _figures(result: dict, angular: dict | None, lipschitz: dict) -> dict:
    name = result["network"]
    figures = {}
    if angular is not None:
        figures["angular_spectrum"] = angular_figure(angular["spectrum"], f"{name}: angular spectrum of W₁ = {angular['layer']}")
        figures["thresholding"] = thresholding_figure(angular["thresholding"], f"{name}: thresholding W₁ in angular Fourier")
    figures["lipschitz"] = lipschitz_figure(lipschitz["rows"], lipschitz["product"], lipschitz["empirical"], f"{name}: Lipschitz bounds")
    figures["separation"] = separation_figure(result["separation"]["stages"], f"{name}: progressive separation")
    return figures


#: What analyze.py writes into its output directory; a directory holding any of them is an earlier result.
RESULTS = ("analysis.json", "analysis.md", "angular_spectrum.png", "thresholding.png", "lipschitz.png", "separation.png")


def analyze(cfg: DictConfig) -> dict:
    """Run the analyses and write ``DIR/analysis.json``, ``analysis.md`` and the figures; returns the JSON content.

    The output directory is checked before any work: it must not be a file nor hold an earlier analysis
    (:data:`RESULTS`); every file is written through a temporary file and a rename.
    """
    with user_errors():
        options = _check(cfg)
        sections, reliance = check_sections(cfg.get("analysis")), check_options(cfg.reliance)
        output = check_output_dir("output", cfg.output, RESULTS)
        wandb = check_bool("wandb", cfg.get("wandb", False))
        device = device_for(cfg.device)
        module, checkpoint = load_classifier(cfg.ckpt_path, device)
        datamodule = datamodule_for(checkpoint, cfg.get("data"), cfg.ckpt_path)
        datamodule.setup("fit")
        datamodule.setup("test")
    torch.manual_seed(int(cfg.seed))
    network, batch_size = module.network, datamodule.batch_size
    test = _subset(datamodule.test_dataset, options["max_images"], int(cfg.seed))
    train = _subset(datamodule.train_dataset, options["max_train_images"], int(cfg.seed))
    baseline = _accuracy(network, test, batch_size, device)
    result: dict = {"checkpoint": str(Path(str(cfg.ckpt_path)).resolve()), "network": type(network).__name__,
                    "test_accuracy": baseline, "test_images": len(test)}
    example = test[0][0][None].to(device)
    angular = _angular(network, test, example, options["keep"], batch_size, device, baseline)
    lipschitz = _lipschitz(network, test, example, options, device, int(cfg.seed))
    if angular is not None:
        result["angular"] = {k: v for k, v in angular.items() if k != "spectrum"}
    result["lipschitz"] = {k: v for k, v in lipschitz.items() if k != "rows"}
    result["separation"] = _separation(network, train, test, options["ks"], batch_size, device)
    images, labels = (torch.stack(t) for t in zip(*[(x, torch.as_tensor(y)) for x, y in test]))
    context = Context(result["network"], network, images.to(device), labels.to(device), reliance, device, batch_size, int(cfg.seed))
    extra = run_sections(sections, context)

    figures = _figures(result, angular, lipschitz)
    for name, section in extra.items():
        result[name] = section.numbers
        figures.update(section.figures)
    paths = [output / f"{name}.png" for name in figures]
    report = markdown_report(result) + "".join("\n".join(section.report) + "\n" for section in extra.values())
    with writing("output", folders=[output]):  # every file, or none
        for figure, path in zip(figures.values(), paths):
            save_figure_atomic(figure, path)
        write_text_atomic(output / "analysis.json", json.dumps(result, indent=2, default=_plain) + "\n")
        write_text_atomic(output / "analysis.md", report)
    if wandb:
        _log_wandb(output, result, paths)
    print(report)
    print("written: " + ", ".join(str(p.resolve()) for p in [*paths, output / "analysis.json", output / "analysis.md"]))
    if wandb:
        print(f"wandb: {(output / 'wandb').resolve()} (offline runs: wandb sync {output / 'wandb'}/offline-run-*)")
    return result


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _log_wandb(output: Path, result: dict, figures: list[Path]) -> None:
    """The figures and the headline numbers in a wandb run under ``output/wandb`` (offline unless a key is set)."""
    import wandb

    from ..lit.loggers import wandb_logger

    logger = wandb_logger(save_dir=str(output), name=f"analyze-{result['network']}")
    metrics = {"analysis/test_accuracy": result["test_accuracy"],
               "analysis/lipschitz_empirical": result["lipschitz"]["empirical"]["final"]}
    if result["lipschitz"]["product"] is not None:
        metrics["analysis/lipschitz_product"] = result["lipschitz"]["product"]
    if "angular" in result:
        metrics["analysis/delta_acc_at_80_removed"] = result["angular"]["delta_at_80_removed"]
    logger.log_metrics(metrics)
    logger.experiment.log({f"analysis/{path.stem}": wandb.Image(str(path)) for path in figures})
    wandb.finish()


def compare(cfg: DictConfig) -> dict:
    """``runs=RUNS_DIR``: the ``analysis`` sections on every run under it and their comparison table, written to
    ``output`` (:func:`gennet.cli.analysis_sections.runs.compare_runs`); returns the content of ``comparison.json``."""
    from .analysis_sections.runs import RESULTS as COMPARISON
    from .analysis_sections.runs import compare_runs

    with user_errors():
        sections, reliance = check_sections(cfg.get("analysis")), check_options(cfg.reliance)
        output = check_output_dir("output", cfg.output, COMPARISON)
        device = device_for(cfg.device)
        wandb = check_bool("wandb", cfg.get("wandb", False))
    torch.manual_seed(int(cfg.seed))
    with user_errors(catch_value_errors=False):
        result = compare_runs(Path(str(cfg.runs)).expanduser(), output, sections, reliance, device, int(cfg.seed), load_classifier)
    if wandb:
        _log_comparison(output, result)
    print(result["table"])
    print("written: " + ", ".join([str((output / name).resolve()) for name in COMPARISON] + result["figures"]))
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
