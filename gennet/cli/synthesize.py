"""``python synthesize.py image=PATH|skimage:NAME [model=phase_harmonic|gaussian] [num_samples=4] [size=256] [output=DIR]``
/ ``gennet-synthesize``: texture (stationary process) synthesis from one image (DESIGN §10).

Crops the image (centre, ``size`` pixels, no resizing: a texture's scale is part of it), draws samples of
the Gaussian (random-phase) baseline and — with ``model=phase_harmonic`` — of the microcanonical
phase-harmonic model (:class:`~gennet.stationary.PhaseHarmonicCovariance2D`, L-BFGS from noise), and writes
to ``output``::

    panel.png        the original, the Gaussian samples and ours, side by side, with their pixel histograms
    spectra.png      radially averaged power spectra and pixel histograms of the original and the samples
    samples/*.png    every sample (8 bits, the original's value range), and samples.pt (float tensors)
    metrics.json     per method: M, timings, loss trace summary and the validation metrics
    metrics.md       the same as a Markdown table
    wandb/           the (offline) wandb run, with logger=wandb

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

from ..errors import ConfigError, check_bool, check_int, check_number
from ..files import save_figure_atomic, save_image_atomic, save_torch_atomic, write_text_atomic
from ..limits import check_memory, tensor_bytes
from .devices import device_for
from .errors import user_errors
from .images import center_crop, load_image
from .signals import Interrupted, StopOnSignal, exit_status
from .startup import check_output_dir, claimed, entry_point, writing

__all__ = ["main", "run_synthesis"]

#: The Hydra config folder of this entry point: ``model`` is a plain key here, which ``gennet/conf/`` (with its
#: ``model`` group for training) would not allow.
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf" / "synthesize")

MODELS = ("phase_harmonic", "gaussian")
LOGGERS = ("wandb", "none")


def _size(value) -> tuple[int, int]:
    if isinstance(value, (list, tuple, ListConfig)):
        if len(value) != 2:
            raise ConfigError("size", f"expected one integer or [H, W], got {list(value)}")
        return check_int("size", value[0], 8), check_int("size", value[1], 8)
    side = check_int("size", value, 8)
    return side, side


def _statistics(cfg: DictConfig, shape: tuple[int, int], channels: int):
    """The statistics operator of ``cfg.statistics`` for images of ``shape`` (its ``ValueError``s name the key)."""
    from hydra.utils import instantiate

    keys = cfg.statistics
    J = check_int("statistics.J", keys.J, 1)
    if 2**J > min(shape) or shape[0] % 2**J or shape[1] % 2**J:
        raise ConfigError("size", f"{shape[0]}×{shape[1]} must be multiples of 2**J = {2**J} (statistics.J={J}); choose another size or J")
    check_int("statistics.L", keys.L, 1)
    if check_int("statistics.A", keys.A, 4) % 2:
        raise ConfigError("statistics.A", f"must be even, got {keys.A}")
    for key in ("delta_j", "delta_theta", "oversampling"):
        check_int(f"statistics.{key}", keys[key], 0)
    try:
        return instantiate(keys, shape=shape, channels=channels, _convert_="all")
    except Exception as error:
        cause = error.__cause__ or error
        raise ConfigError("statistics", str(cause).strip().splitlines()[0]) from None


def _validate(cfg: DictConfig) -> tuple[tuple[int, int], int]:
    if cfg.model not in MODELS:
        raise ConfigError("model", f"must be one of {', '.join(MODELS)}, got {cfg.model!r}")
    if cfg.logger not in LOGGERS:
        raise ConfigError("logger", f"must be one of {', '.join(LOGGERS)}, got {cfg.logger!r}")
    size = _size(cfg.size)
    n = check_int("num_samples", cfg.num_samples, 1)
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
RESULTS = ("metrics.json", "metrics.md", "loss.json", "samples.pt", "panel.png", "spectra.png", "samples")


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
    from ..stationary.metrics import validation_metrics
    from ..stationary.report import markdown_table

    with user_errors():
        size, n = _validate(cfg)
        output = _refuse_existing(Path(str(cfg.output)).expanduser())
        device = device_for(str(cfg.device))
        if cfg.threads is not None:
            torch.set_num_threads(int(cfg.threads))
        array = center_crop(load_image(cfg.image, bool(cfg.grayscale)), size)
        original = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).to(device)  # (C, H, W) in [0, 1]
        if float(original.std()) == 0:
            raise ConfigError("image", "the crop is constant: there is no texture to model")
        levels = int(cfg.synthesis.histogram_levels)
        if levels and cfg.model == "phase_harmonic":  # E[(x - t)_+] at 2n thresholds: (n_samples, C, 2n, H·W) float64, ×3 with its gradient
            check_memory("synthesis.histogram_levels", 3 * tensor_bytes(((n, *original.shape, 2 * levels), 8)),
                         f"the pixel-histogram term at {2 * levels} thresholds")
        statistics = _statistics(cfg, size, original.shape[0]).to(device) if cfg.model == "phase_harmonic" else None
    stop.defer()  # from here on a signal ends the work at its next evaluation and the results so far are written
    C, H, W = original.shape
    print(f"{cfg.image}: {C} channel(s), crop {H}×{W}; {n} sample(s) per model on {device}")
    samples: dict[str, torch.Tensor] = {}
    rows: list[dict] = []
    generator = torch.Generator().manual_seed(int(cfg.seed))
    start = time.perf_counter()
    samples["gaussian"] = gaussian_samples(original, n, generator=generator)
    seconds = time.perf_counter() - start
    # the Gaussian model keeps the periodogram and the cross-spectra: C² real numbers per bin of the half plane
    rows.append({"method": "gaussian", "image": str(cfg.image), "M": C * C * H * (W // 2 + 1), "seconds": seconds,
                 "seconds_per_sample": seconds / n})
    result = None
    if statistics is not None:
        result = synthesize(
            original, statistics, num_samples=n, n_iter=int(cfg.synthesis.n_iter), init=str(cfg.synthesis.init),
            seed=int(cfg.seed), history_size=int(cfg.synthesis.history_size), check_every=int(cfg.synthesis.check_every),
            plateau=float(cfg.synthesis.plateau), patience=int(cfg.synthesis.patience),
            match_histogram=bool(cfg.synthesis.match_histogram), histogram_levels=int(cfg.synthesis.histogram_levels),
            histogram_weight=float(cfg.synthesis.histogram_weight), progress=True,
            should_stop=lambda: stop.received is not None,
        )
        samples["phase_harmonic"] = result.samples
        rows.append({
            "method": "phase_harmonic", "image": str(cfg.image), "M": statistics.M, "seconds": result.seconds,
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
    titles = {"gaussian": "Gaussian", "phase_harmonic": f"phase harmonic (M={statistics.M})" if statistics is not None else ""}

    with writing("output", folders=[output / "samples"]):  # every file, or none
        _write_results(cfg, output, original, original_cpu, samples, samples_cpu, titles, rows, result, interrupted)
    if cfg.logger == "wandb":
        _log_wandb(cfg, output, rows, [output / "panel.png", output / "spectra.png"])
    print(markdown_table(rows))
    print(f"written: {output.resolve()}/ (panel.png, spectra.png, samples/, samples.pt, metrics.json, metrics.md, loss.json)")
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

    from ..figures.power_spectrum import spectra_figure
    from ..figures.texture_panel import texture_panel, to_uint8
    from ..stationary.report import markdown_table

    low, high = float(original.min()), float(original.max())
    save_image_atomic(Image.fromarray(to_uint8(original, low, high)), output / "samples" / "original.png")
    for name, batch in samples.items():
        for i, sample in enumerate(batch):
            save_image_atomic(Image.fromarray(to_uint8(sample, low, high)), output / "samples" / f"{name}_{i:03d}.png")
    save_torch_atomic({"original": original_cpu, **samples_cpu}, output / "samples.pt")
    save_figure_atomic(texture_panel(original_cpu, samples_cpu, titles), output / "panel.png", dpi=100)
    save_figure_atomic(spectra_figure(original_cpu, samples_cpu, titles), output / "spectra.png", dpi=100)
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
