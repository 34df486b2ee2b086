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

from ..errors import ConfigError, check_int
from ..files import save_torch_atomic, write_text_atomic
from .errors import user_errors
from .devices import device_for
from .startup import check_bool, check_output_dir, entry_point

__all__ = ["main", "run_synthesis", "load_image", "center_crop"]

#: The Hydra config folder of this entry point: ``model`` is a plain key here, which ``gennet/conf/`` (with its
#: ``model`` group for training) would not allow.
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf" / "synthesize")

MODELS = ("phase_harmonic", "gaussian")
LOGGERS = ("wandb", "none")


def load_image(spec: str, grayscale: bool = False) -> np.ndarray:
    """The image ``spec`` (a path, or ``skimage:NAME`` for ``skimage.data.NAME()``) as float32 ``(H, W, C)`` in [0, 1].

    RGBA drops its alpha; ``grayscale`` converts colour to luminance (ITU-R 601, as PIL's ``L``).

    Raises:
        ConfigError: ``image`` — a missing or unreadable file, an unknown scikit-image name, not a 2-D image.
    """
    from PIL import Image, UnidentifiedImageError

    spec = str(spec)
    if spec.startswith("skimage:"):
        name = spec.split(":", 1)[1]
        from skimage import data

        loader = getattr(data, name, None)
        if not name or name.startswith("_") or not callable(loader):
            raise ConfigError("image", f"unknown scikit-image image {name!r} (e.g. skimage:brick, skimage:grass, skimage:gravel, skimage:astronaut)")
        try:
            array = np.asarray(loader())
        except Exception as error:  # a loader that needs a download or arguments
            raise ConfigError("image", f"skimage.data.{name}() failed: {str(error).splitlines()[0] if str(error) else type(error).__name__}") from None
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ConfigError("image", f"no such file: '{spec}'")
        try:
            with Image.open(path) as image:
                image.load()
                if image.mode not in ("L", "RGB", "I;16", "I", "F"):
                    image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
                array = np.asarray(image)
        except (UnidentifiedImageError, OSError) as error:
            raise ConfigError("image", f"cannot read '{spec}' as an image ({type(error).__name__})") from None
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or min(array.shape[:2]) < 2:
        raise ConfigError("image", f"expected a 2-D grayscale or colour image, got an array of shape {array.shape}")
    array = array[:, :, :3]
    if np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32) / float(np.iinfo(array.dtype).max if array.max() > 255 else 255)
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ConfigError("image", f"'{spec}' has non-finite pixel values")
    if grayscale and array.shape[2] == 3:
        array = (array @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[:, :, None]
    return array


def center_crop(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The central ``size = (H, W)`` crop of an ``(h, w, C)`` image.

    Raises:
        ConfigError: ``size`` — the image is smaller than the crop.
    """
    h, w = array.shape[:2]
    H, W = size
    if H > h or W > w:
        raise ConfigError("size", f"the image is {h}×{w} pixels, smaller than the crop {H}×{W}; choose a smaller size")
    top, left = (h - H) // 2, (w - W) // 2
    return array[top : top + H, left : left + W]


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


class _StopOnSignal:
    """SIGTERM / SIGINT during the synthesis set a flag instead of killing the process: the optimization ends at
    its next evaluation, the best samples so far are written, and the command exits 143 / 130."""

    def __enter__(self):
        import signal

        self.received: int | None = None
        self._previous = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.received is None:
            print(f"\nreceived signal {signum}: finishing the current iteration and writing the best samples so far",
                  file=sys.stderr, flush=True)
        self.received = signum

    def __exit__(self, *exc) -> None:
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _to_uint8(x: torch.Tensor, low: float, high: float) -> np.ndarray:
    """``(C, H, W)`` → ``(H, W[, 3])`` uint8, the range [low, high] mapped to [0, 255] (clipped)."""
    array = ((x.detach().cpu().float().numpy() - low) / max(high - low, 1e-12)).clip(0, 1)
    array = (array * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    return array[:, :, 0] if array.shape[2] == 1 else array


def _panel(path: Path, original: torch.Tensor, rows: dict[str, torch.Tensor], titles: dict[str, str]) -> None:
    """``panel.png``: one row per method, the original first, then its samples (each ≥ 3 inches wide), and at the end
    of the row the pixel histograms of the original (grey, filled) and of that row's samples (every channel pooled)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    low, high = float(original.min()), float(original.max())
    n = max(len(samples) for samples in rows.values())
    H, W = original.shape[-2:]
    width = 3.2
    fig, axes = plt.subplots(len(rows), n + 2, figsize=((n + 2) * width, len(rows) * width * H / W + 0.6), squeeze=False)
    cmap = "gray" if original.shape[0] == 1 else None
    values = original.flatten().numpy()
    spread = max(float(np.ptp(values)), 1e-12)
    bins = np.linspace(values.min() - 0.1 * spread, values.max() + 0.1 * spread, 64)
    for r, (name, samples) in enumerate(rows.items()):
        axes[r, 0].imshow(_to_uint8(original, low, high), cmap=cmap, vmin=0, vmax=255)
        axes[r, 0].set_title("original", fontsize=11)
        for i in range(n):
            ax = axes[r, i + 1]
            if i < len(samples):
                ax.imshow(_to_uint8(samples[i], low, high), cmap=cmap, vmin=0, vmax=255)
                ax.set_title(f"{titles[name]} #{i}", fontsize=11)
        for ax in axes[r, : n + 1]:
            ax.axis("off")
        histogram = axes[r, n + 1]
        histogram.hist(values, bins=bins, density=True, histtype="stepfilled", color="0.75", label="original")
        for i, sample in enumerate(samples):
            histogram.hist(sample.flatten().numpy().clip(bins[0], bins[-1]), bins=bins, density=True, histtype="step", lw=1.2,
                           label=f"#{i}" if len(samples) > 1 else titles[name])
        histogram.set_title(f"pixel histograms: {titles[name]}", fontsize=10)
        histogram.set_xlabel("pixel value", fontsize=9)
        histogram.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _spectra_plot(path: Path, original: torch.Tensor, rows: dict[str, torch.Tensor], titles: dict[str, str]) -> None:
    """``spectra.png``: radially averaged power spectra (log-log) and pixel histograms, original vs each method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..stationary.metrics import radial_power_spectrum

    fig, (spectra, histograms) = plt.subplots(1, 2, figsize=(12, 4.5))
    radius = np.arange(1, min(original.shape[-2:]) // 2 + 1)
    spectra.loglog(radius, radial_power_spectrum(original[None].double()).mean(dim=(0, 1)).numpy(), "k", lw=2, label="original")
    values = original.flatten().cpu().numpy()
    bins = np.linspace(values.min() - 0.1 * np.ptp(values), values.max() + 0.1 * np.ptp(values), 80)
    histograms.hist(values, bins=bins, density=True, histtype="step", color="k", lw=2, label="original")
    for name, samples in rows.items():
        spectra.loglog(radius, radial_power_spectrum(samples.double()).mean(dim=(0, 1)).numpy(), label=titles[name])
        histograms.hist(samples.flatten().cpu().numpy(), bins=bins, density=True, histtype="step", lw=1.5, label=titles[name])
    spectra.set(xlabel="radial frequency (cycles per image side)", ylabel="power", title="radially averaged power spectrum")
    histograms.set(xlabel="pixel value", ylabel="density", title="pixel histogram")
    spectra.legend()
    histograms.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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

    Raises:
        SystemExit: code 2 with one ``error: <key>: …`` line for a bad image, size, key or output directory
            (:class:`~gennet.errors.ConfigError` through :func:`~gennet.cli.errors.user_errors`).
    """
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
        statistics = _statistics(cfg, size, original.shape[0]).to(device) if cfg.model == "phase_harmonic" else None
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
    interrupted: int | None = None
    result = None
    if statistics is not None:
        with _StopOnSignal() as stop:
            result = synthesize(
            original, statistics, num_samples=n, n_iter=int(cfg.synthesis.n_iter), init=str(cfg.synthesis.init),
            seed=int(cfg.seed), history_size=int(cfg.synthesis.history_size), check_every=int(cfg.synthesis.check_every),
            plateau=float(cfg.synthesis.plateau), patience=int(cfg.synthesis.patience),
            match_histogram=bool(cfg.synthesis.match_histogram), progress=True,
            should_stop=lambda: stop.received is not None,
            )
        interrupted = stop.received
        samples["phase_harmonic"] = result.samples
        rows.append({
            "method": "phase_harmonic", "image": str(cfg.image), "M": statistics.M, "seconds": result.seconds,
            "seconds_per_sample": result.seconds / n, "seconds_per_evaluation": result.seconds / max(result.evaluations, 1),
            "iterations": result.iterations, "evaluations": result.evaluations, "converged": result.converged,
            "loss_initial": result.loss[0] if result.loss else None, "loss_final": result.loss[-1] if result.loss else None,
            "loss_reduction": result.loss[0] / max(result.loss[-1], 1e-300) if result.loss else None,
            "interrupted": result.interrupted, "statistics": statistics.describe(),
        })
    original_cpu, samples_cpu = original.cpu(), {name: batch.cpu() for name, batch in samples.items()}
    if cfg.metrics:
        for row in rows:
            row.update(validation_metrics(samples_cpu[row["method"]], original_cpu))
    titles = {"gaussian": "Gaussian", "phase_harmonic": f"phase harmonic (M={statistics.M})" if statistics is not None else ""}

    output.mkdir(parents=True, exist_ok=True)
    (output / "samples").mkdir(exist_ok=True)
    from PIL import Image

    low, high = float(original.min()), float(original.max())
    Image.fromarray(_to_uint8(original, low, high)).save(output / "samples" / "original.png")
    for name, batch in samples.items():
        for i, sample in enumerate(batch):
            Image.fromarray(_to_uint8(sample, low, high)).save(output / "samples" / f"{name}_{i:03d}.png")
    save_torch_atomic({"original": original_cpu, **samples_cpu}, output / "samples.pt")
    _panel(output / "panel.png", original_cpu, samples_cpu, titles)
    _spectra_plot(output / "spectra.png", original_cpu, samples_cpu, titles)
    trace = {"interrupted": interrupted is not None, "loss": result.loss if result is not None else [],
             "iterations": result.iterations if result is not None else 0}
    write_text_atomic(output / "loss.json", json.dumps(trace) + "\n")
    write_text_atomic(output / "metrics.md", markdown_table(rows))
    write_text_atomic(output / "metrics.json", json.dumps({"config": OmegaConf.to_container(cfg, resolve=True), "methods": rows,
                                                           "interrupted": interrupted is not None}, indent=2) + "\n")
    if cfg.logger == "wandb":
        _log_wandb(cfg, output, rows, [output / "panel.png", output / "spectra.png"])
    print(markdown_table(rows))
    print(f"written: {output.resolve()}/ (panel.png, spectra.png, samples/, samples.pt, metrics.json, metrics.md, loss.json)")
    if interrupted is not None:
        import signal

        print(f"interrupted after {result.iterations} iterations: the best samples so far are in {output} "
              "(loss.json: interrupted=true); run again with another output= to start over", file=sys.stderr)
        sys.exit(130 if interrupted == signal.SIGINT else 143)
    return rows


@entry_point("synthesize", CONFIG_DIR)
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-synthesize`` and ``python synthesize.py``)."""
    run_synthesis(cfg)


if __name__ == "__main__":
    main()
