"""``python synthesize.py image=PATH|skimage:NAME|[A,B,…] [model=joint|scattering_spectra|phase_harmonic|gaussian]
[num_samples=4] [size=256] [crops=1] [output=DIR]`` / ``gennet-synthesize``: texture (stationary process) synthesis
from one image or several (DESIGN §10, issue 33).

Crops the image (``crops`` crops of ``size`` pixels per image, the central one by default; no resizing: a texture's
scale is part of it), draws samples of the Gaussian (random-phase) baseline and of the microcanonical model
``model`` (:mod:`gennet.cli.stationary_models`: by default the phase-harmonic covariances and the scattering
spectra together; L-BFGS from a Gaussian sample), whose statistics are averaged over the crops, and writes to
``output``::

    panel.png        the original, the Gaussian samples and ours, side by side, with their pixel histograms
    spectra.png      radially averaged power spectra and pixel histograms of the original and the samples
    minkowski.png    area, boundary length and Euler characteristic of the excursion sets {x > t} against t
    samples/*.png    every sample, at the input's grey levels (8 bits: [0, 1] ↦ 0..255, clipped), and samples.pt
    metrics.json     per method: M, timings, loss trace summary, the validation and the shape metrics
    metrics.md       the same as a Markdown table
    wandb/           the (offline) wandb run, with logger=wandb

With several crops, the metrics compare the samples with the first crop (``original``), which the panels show.

Keys: ``gennet/conf/synthesize/synthesize.yaml``. Bad input (path, image, size, keys): one ``error: <key>: …`` line, exit 2.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

from ..allocator import retain_freed_memory
from ..errors import ConfigError, check_bool, check_int, check_number
from ..files import save_figure_atomic, save_image_atomic, save_torch_atomic, write_text_atomic
from ..limits import check_memory, tensor_bytes
from .devices import device_for
from .errors import user_errors
from .images import load_image, spread_crops
from .signals import Interrupted, StopOnSignal, exit_status
from .startup import check_output_dir, claimed, entry_point, writing
from .stationary_models import build_statistics, check_model

__all__ = ["main", "run_synthesis"]

#: The Hydra config folder of this entry point: ``model`` is a plain key here, which ``gennet/conf/`` (with its
#: ``model`` group for training) would not allow.
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf" / "synthesize")

LOGGERS = ("wandb", "none")


def _size(value) -> tuple[int, int]:
    if isinstance(value, (list, tuple, ListConfig)):
        if len(value) != 2:
            raise ConfigError("size", f"expected one integer or [H, W], got {list(value)}")
        return check_int("size", value[0], 8), check_int("size", value[1], 8)
    side = check_int("size", value, 8)
    return side, side


def _crops(cfg: DictConfig, size: tuple[int, int]) -> torch.Tensor:
    """``cfg.crops`` crops of ``size`` from each image of ``cfg.image`` (one, or a list), ``(N, C, H, W)`` float32 in
    [0, 1]; :class:`ConfigError` for unreadable images, colour counts that differ, constant crops."""
    images = list(cfg.image) if isinstance(cfg.image, (list, tuple, ListConfig)) else [cfg.image]
    if not images:
        raise ConfigError("image", "the list of images is empty")
    crops = []
    for spec in images:
        array = load_image(spec, bool(cfg.grayscale))
        crops += [torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))) for crop in spread_crops(array, size, int(cfg.crops))]
    if len({crop.shape[0] for crop in crops}) > 1:
        raise ConfigError("image", "the images have different numbers of colour channels (grayscale=true converts them all)")
    crops = torch.stack(crops)
    if bool((crops.flatten(2).std(dim=-1) == 0).all(dim=-1).any()):
        raise ConfigError("image", "a crop is constant: there is no texture to model")
    return crops


def _validate(cfg: DictConfig) -> tuple[tuple[int, int], int]:
    check_model(cfg)
    if cfg.logger not in LOGGERS:
        raise ConfigError("logger", f"must be one of {', '.join(LOGGERS)}, got {cfg.logger!r}")
    size = _size(cfg.size)
    n = check_int("num_samples", cfg.num_samples, 1)
    check_int("crops", cfg.crops, 1)
    check_int("seed", cfg.seed, 0)
    check_int("synthesis.n_iter", cfg.synthesis.n_iter, 1)
    check_int("synthesis.history_size", cfg.synthesis.history_size, 1)
    check_int("synthesis.check_every", cfg.synthesis.check_every, 1)
    check_int("synthesis.patience", cfg.synthesis.patience, 1)
    check_int("synthesis.histogram_levels", cfg.synthesis.histogram_levels, 0)
    check_number("synthesis.histogram_weight", cfg.synthesis.histogram_weight, 0, strict=True)
    for key in ("synthesis.match_histogram", "grayscale", "metrics"):
        check_bool(key, OmegaConf.select(cfg, key))
    from ..stationary.synthesis import INITS

    if cfg.synthesis.init not in INITS:
        raise ConfigError("synthesis.init", f"must be {' or '.join(INITS)}, got {cfg.synthesis.init!r}")
    if not 0 <= float(cfg.synthesis.plateau) < 1:
        raise ConfigError("synthesis.plateau", f"must be in [0, 1), got {cfg.synthesis.plateau}")
    if cfg.threads is not None:
        check_int("threads", cfg.threads, 1)
    return size, n


#: What synthesize.py writes into its output directory; a directory holding any of them is an earlier result.
RESULTS = ("metrics.json", "metrics.md", "loss.json", "samples.pt", "panel.png", "spectra.png", "minkowski.png", "samples")


def _refuse_existing(output: Path) -> Path:
    if (output / "metrics.json").exists():
        raise ConfigError("output", f"'{output}' already holds a synthesis (metrics.json); choose another directory")
    return check_output_dir("output", output, RESULTS)


def _log_wandb(cfg: DictConfig, output: Path, rows: list[dict], images: list[Path]) -> None:
    """The metrics table, the summary and the PNGs to a wandb run in ``output/wandb`` (offline unless a key is set)."""
    from ..lit.loggers import wandb_logger

    logger = wandb_logger(offline=cfg.wandb.offline, save_dir=str(output), project=cfg.wandb.project, name=cfg.wandb.name)
    run = logger.experiment
    run.config.update(OmegaConf.to_container(cfg, resolve=True), allow_val_change=True)
    columns = sorted({key for row in rows for key in row})
    logger.log_table("synthesis/metrics", columns=columns, data=[[row.get(key) for key in columns] for row in rows])
    for row in rows:
        for key, value in row.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                run.summary[f"{row['method']}/{key}"] = value
    logger.log_image("synthesis/panels", images=[str(path) for path in images])
    run.finish()


def run_synthesis(cfg: DictConfig) -> list[dict]:
    """Run one synthesis from a composed config; returns the rows written to ``metrics.json``.

    SIGTERM / SIGINT are handled from the start: during the set-up (checks, image, statistics) the command ends at once
    with one line, nothing written; during the synthesis the current evaluation ends and the best samples so far, their
    metrics and the loss trace (``interrupted: true``) are written. Either way the exit status is 143 / 130.

    Raises:
        SystemExit: code 2 with one ``error: <key>: …`` line for a bad image, size, key or output directory
            (:class:`~gennet.errors.ConfigError` through :func:`~gennet.cli.errors.user_errors`); 143 / 130 after
            SIGTERM / SIGINT.
    """
    with StopOnSignal() as stop:
        try:
            with claimed(Path(str(cfg.output)).expanduser(), key="output"):  # one synthesis at a time into one folder
                return _run_synthesis(cfg, stop)
        except Interrupted as interrupted:
            print(f"interrupted (signal {interrupted.signum}) during the set-up: nothing was computed or written",
                  file=sys.stderr)
            sys.exit(exit_status(interrupted.signum))


def _run_synthesis(cfg: DictConfig, stop: StopOnSignal) -> list[dict]:
    from ..stationary import gaussian_samples, synthesize
    from ..stationary.metrics import histogram_distance, validation_metrics
    from ..stationary.report import markdown_table
    from ..stationary.shapes import shape_metrics

    with user_errors():
        size, n = _validate(cfg)
        output = _refuse_existing(Path(str(cfg.output)).expanduser())
        device = device_for(str(cfg.device))
        if cfg.threads is not None:
            torch.set_num_threads(int(cfg.threads))
        retain_freed_memory()  # glibc: freed blocks stay in the heap between L-BFGS evaluations (gennet.allocator)
        crops = _crops(cfg, size).to(device)  # (N, C, H, W) in [0, 1]
        original = crops[0]
        statistics = build_statistics(cfg, size, original.shape[0])
        levels = int(cfg.synthesis.histogram_levels)
        if levels and statistics is not None:  # E[(x - t)_+] at 2n thresholds: (n_samples, C, 2n, H·W) float64, ×3 with its gradient
            check_memory("synthesis.histogram_levels", 3 * tensor_bytes(((n, *original.shape, 2 * levels), 8)),
                         f"the pixel-histogram term at {2 * levels} thresholds")
        statistics = statistics.to(device) if statistics is not None else None
    stop.defer()  # from here on a signal ends the work at its next evaluation and the results so far are written
    C, H, W = original.shape
    method = str(cfg.model)
    print(f"{cfg.image}: {C} channel(s), {len(crops)} crop(s) {H}×{W}; {n} sample(s) per model on {device}")
    samples: dict[str, torch.Tensor] = {}
    rows: list[dict] = []
    generator = torch.Generator().manual_seed(int(cfg.seed))
    start = time.perf_counter()
    samples["gaussian"] = gaussian_samples(crops, n, generator=generator)
    seconds = time.perf_counter() - start
    # the Gaussian model keeps the periodogram and the cross-spectra: C² real numbers per bin of the half plane
    rows.append({"method": "gaussian", "image": str(cfg.image), "M": C * C * H * (W // 2 + 1), "seconds": seconds,
                 "seconds_per_sample": seconds / n})
    result = None
    if statistics is not None:
        result = synthesize(
            crops, statistics, num_samples=n, n_iter=int(cfg.synthesis.n_iter), init=str(cfg.synthesis.init),
            seed=int(cfg.seed), history_size=int(cfg.synthesis.history_size), check_every=int(cfg.synthesis.check_every),
            plateau=float(cfg.synthesis.plateau), patience=int(cfg.synthesis.patience),
            match_histogram=bool(cfg.synthesis.match_histogram), histogram_levels=int(cfg.synthesis.histogram_levels),
            histogram_weight=float(cfg.synthesis.histogram_weight), progress=True,
            should_stop=lambda: stop.received is not None,
        )
        samples[method] = result.samples
        rows.append({
            "method": method, "image": str(cfg.image), "M": statistics.M, "seconds": result.seconds,
            "seconds_per_sample": result.seconds / n, "seconds_per_evaluation": result.seconds / max(result.evaluations, 1),
            "iterations": result.iterations, "evaluations": result.evaluations, "converged": result.converged,
            "loss_initial": result.loss[0] if result.loss else None, "loss_final": result.loss[-1] if result.loss else None,
            "loss_reduction": result.loss[0] / max(result.loss[-1], 1e-300) if result.loss else None,
            "interrupted": result.interrupted, "statistics": statistics.describe(),
        })
    interrupted = stop.received  # a signal before the synthesis ended (also during the Gaussian samples)
    original_cpu, samples_cpu = original.cpu(), {name: batch.cpu() for name, batch in samples.items()}
    if cfg.metrics:
        for row in rows:
            row.update(validation_metrics(samples_cpu[row["method"]], original_cpu))
            row.update(shape_metrics(samples_cpu[row["method"]], original_cpu))
        if result is not None and result.unprojected is not None:  # the histogram W1 before the projection imposes it
            rows[-1]["histogram_w1_before_projection"] = float(histogram_distance(result.unprojected.cpu(), original_cpu).mean())
    titles = {"gaussian": "Gaussian", method: f"{method.replace('_', ' ')} (M={statistics.M})" if statistics is not None else ""}

    with writing("output", folders=[output / "samples"]):  # every file, or none
        _write_results(cfg, output, original, original_cpu, samples, samples_cpu, titles, rows, result, interrupted)
    if cfg.logger == "wandb":
        _log_wandb(cfg, output, rows, [output / "panel.png", output / "spectra.png", output / "minkowski.png"])
    print(markdown_table(rows))
    print(f"written: {output.resolve()}/ (panel.png, spectra.png, minkowski.png, samples/, samples.pt, metrics.json, metrics.md, loss.json)")
    if interrupted is not None:
        iterations = result.iterations if result is not None else 0
        print(f"interrupted after {iterations} iterations: the best samples so far are in {output} "
              "(loss.json: interrupted=true); run again with another output= to start over", file=sys.stderr)
        sys.exit(exit_status(interrupted))
    if stop.received is not None:  # a signal while the results were written: they are complete
        print(f"received signal {stop.received} after the synthesis: the results in {output} are complete", file=sys.stderr)
        sys.exit(exit_status(stop.received))
    return rows


def _write_results(cfg, output: Path, original, original_cpu, samples, samples_cpu, titles, rows, result, interrupted) -> None:
    """Every file of a synthesis in ``output`` (inside :func:`~gennet.files.written_together`)."""
    from PIL import Image

    from ..figures.minkowski import minkowski_figure
    from ..figures.power_spectrum import spectra_figure
    from ..figures.texture_panel import texture_panel, to_uint8
    from ..stationary.report import markdown_table

    # the input's grey levels, as read ([0, 1] ↦ 0..255), not stretched: the PNGs can be read back as data
    save_image_atomic(Image.fromarray(to_uint8(original, 0.0, 1.0)), output / "samples" / "original.png")
    for name, batch in samples.items():
        for i, sample in enumerate(batch):
            save_image_atomic(Image.fromarray(to_uint8(sample, 0.0, 1.0)), output / "samples" / f"{name}_{i:03d}.png")
    save_torch_atomic({"original": original_cpu, **samples_cpu}, output / "samples.pt")
    save_figure_atomic(texture_panel(original_cpu, samples_cpu, titles), output / "panel.png", dpi=100)
    save_figure_atomic(spectra_figure(original_cpu, samples_cpu, titles), output / "spectra.png", dpi=100)
    save_figure_atomic(minkowski_figure(original_cpu, samples_cpu, titles), output / "minkowski.png", dpi=100)
    trace = {"interrupted": interrupted is not None, "loss": result.loss if result is not None else [],
             "iterations": result.iterations if result is not None else 0}
    write_text_atomic(output / "loss.json", json.dumps(trace) + "\n")
    write_text_atomic(output / "metrics.md", markdown_table(rows))
    write_text_atomic(output / "metrics.json", json.dumps({"config": OmegaConf.to_container(cfg, resolve=True), "methods": rows,
                                                           "interrupted": interrupted is not None}, indent=2) + "\n")


@entry_point("synthesize", CONFIG_DIR)
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-synthesize`` and ``python synthesize.py``)."""
    run_synthesis(cfg)


if __name__ == "__main__":
    main()
