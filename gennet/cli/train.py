"""``python train.py`` / ``gennet-train``: seed → instantiate → fit → test (best checkpoint) → metrics.json.

Hydra composes ``gennet/conf/train.yaml`` (groups ``data``, ``model``, ``trainer``, ``logger``, ``callbacks``,
``paths``; experiments with ``+experiment=NAME``). Outputs go to the Hydra run directory
(``hydra.run.dir=…`` works as usual)::

    <run_dir>/metrics.json        flat metrics: train/psnr, val/psnr, test/psnr, test/ssim, test/psnr_lowpass, …
                                  (classifiers: train/acc, val/acc, test/acc, test/acc_top5, …)
    <run_dir>/checkpoints/        last.ckpt and the best checkpoint (val/psnr, or val/acc for classifiers)
    <run_dir>/samples/*.png       grids of originals, reconstructions, low-pass baselines (generators)
    <run_dir>/wandb/              the (offline) wandb run
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from ..errors import ConfigError
from ..files import write_text_atomic
from ..lit.divergence import NonFiniteLossError
from .checkpoints import check_weights_fit, load_checkpoint
from .errors import user_errors
from .resolvers import register_resolvers
from .startup import check_finite_values, claimed, entry_point, writing
from .validate import validate_train_config

__all__ = ["main", "train"]

register_resolvers()

#: Exit status of a run stopped by SIGTERM / SIGINT after writing its checkpoint (128 + SIGTERM).
EXIT_INTERRUPTED = 143

#: Exit status of a run stopped by a non-finite loss.
EXIT_DIVERGED = 3


def _flat_metrics(metrics: dict) -> dict[str, float]:
    """``{key: float}`` from Lightning's callback metrics; ``x_epoch`` → ``x``, step values dropped."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if key.endswith("_step"):
            continue
        key = key[: -len("_epoch")] if key.endswith("_epoch") else key
        value = float(value)
        out[key] = value if math.isfinite(value) else None
    return out


def _is_first_process() -> bool:
    """False in the processes a distributed launcher started besides the first one."""
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


def _refuse_existing_run(run_dir: Path, resuming: bool = False) -> None:
    """A run never writes over an earlier one: a finished run (``metrics.json``) stops every run into ``run_dir``, a
    resumed one too (``ckpt_path=last`` resumes only an unfinished run); checkpoints stop a new run.

    Raises:
        ConfigError: ``hydra.run.dir``, naming the file found.
    """
    if (run_dir / "metrics.json").exists():
        raise ConfigError("hydra.run.dir", f"'{run_dir}' already holds a finished run (metrics.json), which is never "
                                           "overwritten (ckpt_path=last resumes only an unfinished run); choose another directory")
    earlier = [p for p in sorted((run_dir / "checkpoints").glob("*.ckpt")) if p.exists()]
    if earlier and not resuming:
        raise ConfigError(
            "hydra.run.dir",
            f"'{run_dir}' already holds a run ({earlier[0].name}); choose another directory, "
            "or resume this one with ckpt_path=last",
        )


def _instantiate_trainer(trainer_cfg: DictConfig, logger, callbacks):
    """``lightning.pytorch.Trainer`` from ``trainer``; Lightning's own refusals become one ``trainer`` line."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        return instantiate(trainer_cfg, logger=logger, callbacks=callbacks)
    except InstantiationException as error:
        cause = error.__cause__ or error
        if isinstance(cause, (MisconfigurationException, ModuleNotFoundError, ValueError, TypeError)):
            raise ConfigError("trainer", str(cause).strip().splitlines()[0]) from None
        raise


def _data_arguments(model_cfg: DictConfig, datamodule) -> dict:
    """What the model learns from the data module: ``image_size``, ``channels`` and, for a model whose
    constructor takes it (the classifiers), ``num_classes``."""
    import inspect

    from hydra.utils import get_class

    arguments = {"image_size": datamodule.image_size, "channels": datamodule.num_channels}
    if "num_classes" in inspect.signature(get_class(model_cfg._target_)).parameters:
        if datamodule.num_classes < 2:
            raise ConfigError("data", f"{type(datamodule).__name__} has no class labels; a classifier needs 2 or more classes")
        arguments["num_classes"] = datamodule.num_classes
    return arguments


def _checkpoint_path(cfg: DictConfig, run_dir: Path) -> Path | None:
    """The file ``ckpt_path`` names (``last`` → ``<run_dir>/checkpoints/last.ckpt``), or None for ``hpc``/none."""
    path = cfg.get("ckpt_path")
    if not path or path == "hpc":
        return None
    return run_dir / "checkpoints" / "last.ckpt" if path == "last" else Path(str(path))


def train(cfg: DictConfig) -> dict[str, float]:
    """Run one training job from a composed config, its run directory claimed for the run (:func:`claimed`: a second
    run into it stops in one line); returns the metrics written to ``metrics.json``."""
    with claimed(Path(cfg.paths.output_dir), enabled=_is_first_process()):
        return _train(cfg)


def _train(cfg: DictConfig) -> dict[str, float]:
    import lightning.pytorch as pl
    from hydra.utils import instantiate
    from lightning.pytorch.callbacks import ModelCheckpoint

    run_dir = Path(cfg.paths.output_dir)
    with user_errors():
        validate_train_config(cfg)
        for group in ("model", "data", "trainer"):
            if cfg.get(group) is not None:
                check_finite_values(group, OmegaConf.to_container(cfg[group], resolve=False, throw_on_missing=False))
        resuming = bool(cfg.get("ckpt_path"))
        if _is_first_process():
            _refuse_existing_run(run_dir, resuming)
        resume_from = _checkpoint_path(cfg, run_dir)
        checkpoint = None
        if resuming and (cfg.ckpt_path not in ("last", "hpc") or (resume_from is not None and resume_from.is_file())):
            checkpoint = load_checkpoint(resume_from)  # missing, unreadable or not a plain checkpoint: one line, nothing unpickled
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        datamodule = instantiate(cfg.data)
        model = instantiate(cfg.model, _convert_="all", **_data_arguments(cfg.model, datamodule))
        if checkpoint is not None:
            check_weights_fit(model, checkpoint["state_dict"], resume_from)
        logger = instantiate(cfg.logger) if cfg.get("logger") else False
        callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
        trainer = _instantiate_trainer(cfg.trainer, logger, callbacks)

    if logger:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    start = time.perf_counter()
    try:
        with user_errors(catch_value_errors=False):  # e.g. data.on_corrupt=error naming an unreadable image
            trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"), weights_only=True)
    except (NonFiniteLossError, torch.linalg.LinAlgError) as error:  # a non-finite loss, or a solver's factorization failed
        _finish_wandb(logger)
        last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
        kept = f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint had been written yet"
        if isinstance(error, NonFiniteLossError):
            what = str(error)
        else:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            what = f"the solver failed at step {trainer.global_step} ({detail[:200]}): the weights have diverged"
        print(f"error: training: {what}; stopped before the update, {kept}", file=sys.stderr)
        sys.exit(EXIT_DIVERGED)
    except SIGTERMException:  # Preemption wrote last.ckpt
        _finish_wandb(logger)
        if trainer.is_global_zero:
            print(f"resume with: python train.py ckpt_path=last hydra.run.dir={run_dir} (and the same overrides)", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    fit_seconds = time.perf_counter() - start
    metrics = _flat_metrics(trainer.callback_metrics)

    checkpoint = next((c for c in trainer.callbacks if isinstance(c, ModelCheckpoint)), None)
    if cfg.get("test", True):
        best = checkpoint.best_model_path if checkpoint is not None and checkpoint.best_model_path else None
        trainer.test(model, datamodule=datamodule, ckpt_path=best, weights_only=True)
        metrics.update(_flat_metrics(trainer.callback_metrics))
    metrics["time/fit_seconds"] = fit_seconds

    if trainer.is_global_zero:
        with writing("hydra.run.dir", exclusive=False):  # a full disk: one line
            write_text_atomic(run_dir / "metrics.json", json.dumps(dict(sorted(metrics.items())), indent=2) + "\n",
                              key="hydra.run.dir")
        _report(run_dir, metrics, checkpoint)
    _finish_wandb(logger)
    return metrics


def _report(run_dir: Path, metrics: dict[str, float], checkpoint) -> None:
    shown = ("train/psnr", "val/psnr", "test/psnr", "test/ssim", "test/psnr_lowpass", "train/acc", "val/acc",
             "test/acc", "test/acc_top5")
    print("\n" + "  ".join(f"{k} {metrics[k]:.3f}" for k in shown if metrics.get(k) is not None))
    print(f"run directory   {run_dir.resolve()}")
    print(f"metrics         {run_dir / 'metrics.json'}")
    if checkpoint is not None:
        print(f"checkpoints     {Path(checkpoint.dirpath)} (best: {Path(checkpoint.best_model_path).name or '-'}, last.ckpt)")
    samples = run_dir / "samples"
    if samples.is_dir():
        print(f"image grids     {samples}")
    wandb_dir = run_dir / "wandb"
    if wandb_dir.is_dir():
        print(f"wandb           {wandb_dir} (offline runs: wandb sync {wandb_dir}/offline-run-*)")


def _finish_wandb(logger) -> None:
    from lightning.pytorch.loggers import WandbLogger

    if isinstance(logger, WandbLogger):
        import wandb

        wandb.finish()


@entry_point("train")
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-train`` and ``python train.py``)."""
    train(cfg)


if __name__ == "__main__":
    main()
