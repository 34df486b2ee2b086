"""What sample.py, interpolate.py and evaluate.py share: a generator checkpoint, loaded safely; its data; the prior
of its embedding that the config names (a ``prior_file``, or the Gaussian model fitted once and saved beside the
checkpoint). Decoding in batches: :func:`gennet.models.decoding.decode_batches`."""

from __future__ import annotations

import pickle
import sys
import zipfile
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from ..errors import ConfigError, check_int, check_number
from ..files import WriteError, save_torch_atomic
from ..limits import check_memory
from ..lit.data_pass import training_images
from ..lit.data_record import KEY as DATA_KEY
from ..lit.data_record import datamodule_from_record
from ..lit.generator_module import GeneratorModule
from ..priors import FlowMatching, Prior, ScoreRefinement, load_prior
from ..priors.gaussian import GaussianEmbedding
from .checkpoints import load_module

__all__ = ["load_generator", "datamodule_for", "gaussian_for", "prior_for", "refinement_for", "describe", "save_tensor",
           "check_images_memory"]

def load_generator(path: str | Path, device: torch.device) -> tuple[GeneratorModule, dict]:
    """The :class:`~gennet.lit.GeneratorModule` of a checkpoint, in eval mode on ``device``, and the checkpoint."""
    return load_module(GeneratorModule, path, device, "generator", "train one with model=generator")


def datamodule_for(checkpoint: dict, overrides: DictConfig | dict | None, path: str | Path):
    """The data module recorded in the checkpoint, with ``data.*`` overrides (e.g. ``data.root`` if moved).

    The record is checked before anything is built: a data module of gennet (:mod:`gennet.data.registry`), arguments
    its constructor takes, plain values, and the image size the model was trained on.

    Raises:
        ConfigError: ``ckpt_path`` for a record that names another class or bad arguments; ``data`` for overrides that do.
    """
    from ..data.registry import DATA_MODULES

    record = checkpoint.get(DATA_KEY)
    overrides = OmegaConf.to_container(overrides, resolve=True) if isinstance(overrides, DictConfig) else dict(overrides or {})
    if record is None:
        if "_target_" not in overrides:
            raise ConfigError("data", f"'{path}' does not record its data; give it, e.g. data._target_=gennet.data.MNIST5kDataModule")
        record = {}
    else:
        try:
            DATA_MODULES.check(record, DATA_KEY)
        except ValueError as error:
            raise ConfigError("ckpt_path", f"'{path}' holds a data record that gennet does not build ({error})") from None
    merged = {**record, **overrides}
    trained = checkpoint.get("hyper_parameters", {}).get("image_size")
    if isinstance(trained, int) and merged.get("image_size", trained) != trained:
        key = "data.image_size" if "image_size" in overrides else "ckpt_path"
        raise ConfigError(key, f"'{path}' holds a model of {trained}-pixel images; its data would give "
                               f"{merged['image_size']!r}-pixel images")
    try:
        return datamodule_from_record(record, overrides, key="data")
    except ConfigError:
        raise
    except ValueError as error:
        data_key, _, message = str(error).partition(": ")
        raise ConfigError(data_key, message) from None


def gaussian_path(ckpt_path: str | Path) -> Path:
    """Where the Gaussian model of a checkpoint lives: beside it, ``<name>.gaussian.pt``."""
    path = Path(str(ckpt_path)).expanduser()
    return path.with_name(path.stem + ".gaussian.pt")


@torch.no_grad()
def gaussian_for(
    module: GeneratorModule,
    ckpt_path: str | Path,
    datamodule,
    device: torch.device,
    covariance: str = "auto",
    fit_images: int | None = None,
    refit: bool = False,
) -> GaussianEmbedding:
    """The Gaussian model of ``w = Φ(x)`` for this checkpoint: read from beside it, or fitted on the training
    images (one pass, progress bar) and saved there (a warning, not an error, if the folder is read-only)."""
    path = gaussian_path(ckpt_path)
    generator = module.generator
    if path.is_file() and not refit:
        try:
            model = GaussianEmbedding.load(path, map_location=device)
        except (ValueError, RuntimeError, KeyError, EOFError, OSError, zipfile.BadZipFile, pickle.UnpicklingError) as error:
            reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
            raise ConfigError("ckpt_path", f"cannot read the Gaussian model '{path}': {reason} (delete it, or refit=true)") from None
        if model.shape != generator.embedding_shape:
            raise ConfigError("ckpt_path", f"'{path}' models embeddings {model.shape}, not {generator.embedding_shape}")
        return model
    model = GaussianEmbedding(generator.embedding_shape, covariance=covariance).to(device)
    images = training_images(datamodule, device, fit_images, desc=f"fitting the Gaussian model of w ({model.covariance})")
    model.fit_(generator.encode(x) for x in images)
    try:
        model.save(path)
        print(f"Gaussian model of w ({model.covariance} covariance, {int(model.count)} images) saved to {path}", file=sys.stderr)
    except (OSError, WriteError) as error:
        print(f"warning: could not save the Gaussian model beside the checkpoint ({error})", file=sys.stderr)
    return model


def prior_for(cfg: DictConfig, module: GeneratorModule, datamodule, device: torch.device) -> Prior:
    """The prior of ``sample.py`` / ``interpolate.py``: the file ``cfg.prior_file`` (``train_prior.py``'s ``prior.pt``), or —
    when it is null — the Gaussian model of ``w`` beside the checkpoint (:func:`gaussian_for`).

    Raises:
        ConfigError: ``"prior_file"`` for a missing or unreadable file, or a prior of embeddings of another shape.
    """
    if cfg.get("prior_file") in (None, ""):
        return gaussian_for(module, cfg.ckpt_path, datamodule, device, cfg.covariance, cfg.fit_images, cfg.refit)
    try:
        prior = load_prior(Path(str(cfg.prior_file)).expanduser(), map_location=device)
    except ValueError as error:
        raise ConfigError("prior_file", f"{error} (train one with train_prior.py generator_ckpt=...)") from None
    if tuple(prior.shape) != tuple(module.generator.embedding_shape):
        raise ConfigError("prior_file", f"'{cfg.prior_file}' models embeddings {tuple(prior.shape)}, but this generator's are "
                                   f"{tuple(module.generator.embedding_shape)} (a prior of another generator?)")
    return prior


def check_images_memory(key: str, n: int, module: GeneratorModule) -> None:
    """Refuse, before any work, ``n`` images of this generator that would not fit in the memory free here
    (:func:`gennet.limits.check_memory`): per image, its ``w`` (float32, twice: drawn and moved), the decoded image
    (float32, three times: the batches, their concatenation, the copy saved) and its place in the grid (float32 RGB at
    least 64 pixels a side, twice: the grid and its 8-bit copy).

    Raises:
        ConfigError: ``key``, with the bytes needed and free.
    """
    c_w, h, w = module.generator.embedding_shape
    channels, size = int(module.hparams.channels), int(module.hparams.image_size)
    side = max(size, 64)
    per_image = 4 * (2 * c_w * h * w + 3 * channels * size * size + 2 * 3 * side * side)
    check_memory(key, n * per_image, f"{n} images of {channels}×{size}×{size}")


def refinement_for(cfg: DictConfig, prior: Prior, generator) -> ScoreRefinement | None:
    """The score refinement of decoded samples (``refine_steps``, ``refine_time``, ``refine_step``) for a flow prior; ``None``
    for other priors or ``refine_steps=0``.

    Raises:
        ConfigError: the key of a bad setting."""
    steps = check_int("refine_steps", cfg.get("refine_steps", 0), 0)
    if steps == 0 or not isinstance(prior, FlowMatching):
        return None
    time = check_number("refine_time", cfg.refine_time, 0, strict=True)
    if not time < 1:
        raise ConfigError("refine_time", f"the time of the flow's score must be < 1, got {time:g}")
    step = check_number("refine_step", cfg.refine_step, 0, strict=True)
    return ScoreRefinement(prior, generator.encode, steps, time, step)


def describe(prior: Prior) -> str:
    """A few words on a prior for the scripts' messages."""
    if isinstance(prior, GaussianEmbedding):
        return f"w ~ N(mu, Sigma) [{prior.covariance}]"
    return f"w from the {prior.kind} prior"


def save_tensor(images: torch.Tensor, path: Path) -> None:
    """``images`` as float32 on the CPU to ``path`` (``torch.save``; loads with ``weights_only=True``), through a temporary
    file in the same folder and a rename: an earlier file is replaced whole or not at all."""
    save_torch_atomic(images.detach().float().cpu().contiguous(), path)
