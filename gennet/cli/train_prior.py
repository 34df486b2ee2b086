"""``python train_prior.py generator_ckpt=CKPT [prior=flow|pca_flow|mixture|gaussian] [+experiment=prior_digits]`` / ``gennet-train-prior``.

The second stage of generation from noise (DESIGN §12): a prior over ``w = Φ(x)`` of a trained generator.

1. The generator is loaded (``weights_only=True``); the embeddings of its training and validation images are
   computed once and kept in ``<run_dir>/embeddings.pt`` (a resumed run reads them back).
2. A prior without parameters (``prior=gaussian``, ``prior=mixture``) is fitted at once; a flow prior is trained by
   :class:`~gennet.lit.PriorModule` (Adam, EMA, ``val/loss`` on the validation embeddings for the best checkpoint,
   sample grids in ``<run_dir>/samples/`` and wandb, ``ckpt_path=last`` resumes exactly).
3. ``<run_dir>/prior.pt`` (the best EMA weights; :func:`gennet.priors.load_prior`) and ``<run_dir>/metrics.json``.

Keys: ``gennet/conf/train_prior.yaml``, ``gennet/conf/prior/*.yaml``. Bad input: one line ``error: KEY: …``, exit 2.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from ..cache_record import file_digest, read_record, verify_file, warn_recompute, write_record
from ..errors import ConfigError, check_int
from ..figures.image_grid import save_image_grid
from ..files import save_torch_atomic, write_text_atomic
from ..limits import check_memory, tensor_bytes
from ..priors.coarse_grain import lowpass_channels
from .checkpoints import check_weights_fit, load_checkpoint
from .devices import device_for
from .errors import user_errors
from .generation import datamodule_for, load_generator
from .startup import claimed, entry_point, writing
from .resolvers import register_resolvers
from .train import EXIT_INTERRUPTED, _checkpoint_path, _instantiate_trainer, _is_first_process, _refuse_existing_run

__all__ = ["main", "train_prior", "embeddings_for"]

register_resolvers()


@torch.no_grad()
def embeddings_for(module, datamodule, device: torch.device, fit_images: int | None = None,
                   fit_on: str = "images") -> dict[str, torch.Tensor]:
    """``{"train": (N, C_w, h, w), "val": (M, C_w, h, w)}`` float32 on the CPU: ``Φ`` of the training images (the first
    ``fit_images`` of them, or all) and of the validation images, with a progress bar. ``fit_on="reconstructions"``:
    ``Φ(G(Φ(x)))`` instead, the embeddings of the decoder's own reconstructions (clamped to [−1, 1]), on which the
    decoder is consistent (issue 31)."""
    from tqdm.auto import tqdm

    datamodule.setup("fit")
    out = {}
    for split in ("train", "val"):
        dataset = getattr(datamodule, f"{split}_dataset")
        count = len(dataset) if split == "val" or fit_images is None else min(fit_images, len(dataset))
        batches = []
        for start in tqdm(range(0, count, 256), desc=f"embedding the {split} images", unit="batch", leave=False):
            x = torch.stack([dataset[i][0] for i in range(start, min(count, start + 256))]).to(device)
            w = module.generator.encode(x)
            if fit_on == "reconstructions":
                w = module.generator.encode(module.generator.decode(w).clamp(-1, 1))
            batches.append(w.float().cpu())
        out[split] = torch.cat(batches)
    return out


def _prior_config(cfg: DictConfig, shape, image_channels: int) -> dict:
    config = OmegaConf.to_container(cfg.prior, resolve=True)
    if config.get("condition_channels") == "lowpass":
        config["condition_channels"] = lowpass_channels(shape, image_channels)
    return config


def _embeddings_record(cfg: DictConfig, shape, fit_on: str) -> dict:
    """What ``embeddings.pt`` is computed from: the generator checkpoint (its bytes), ``fit_images``, ``fit_on``, the
    shape of ``w``."""
    generator = Path(str(cfg.generator_ckpt)).expanduser()
    return {"generator_sha256": file_digest(generator)[1], "fit_images": cfg.fit_images, "fit_on": fit_on,
            "shape": list(shape)}


def _fit_on(cfg: DictConfig) -> str:
    """``cfg.fit_on`` (``images`` or ``reconstructions``), or one line naming the key."""
    fit_on = cfg.get("fit_on", "images")
    if fit_on not in ("images", "reconstructions"):
        raise ConfigError("fit_on", f"must be images or reconstructions, got {fit_on!r}")
    return fit_on


def _cached_embeddings(cache: Path, expected: dict) -> dict[str, torch.Tensor] | None:
    """The embeddings of ``cache`` if it proves itself against its record (:mod:`gennet.cache_record`: made from the same
    generator and ``fit_images``, the same bytes, float32 arrays ``(N, *shape)`` of the recorded sizes, finite); else
    ``None``, after one warning line when there was a file."""
    if not cache.exists():
        return None
    record = read_record(cache)
    reason = verify_file(cache, record, expected)
    content = None
    if reason is None:
        try:
            with warnings.catch_warnings():  # e.g. torch's note on the pickle protocol of a foreign file
                warnings.simplefilter("ignore")
                content = torch.load(cache, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - any file torch cannot read with weights_only=True
            reason = f"it cannot be read ({type(error).__name__})"
    if reason is None:
        for split in ("train", "val"):
            value = content.get(split) if isinstance(content, dict) else None
            counts = record.get("counts", {})
            if not (isinstance(value, torch.Tensor) and value.dtype == torch.float32 and value.ndim == 4
                    and list(value.shape) == [counts.get(split), *expected["shape"]]):
                reason = f"its {split} embeddings are not the recorded float32 ({counts.get(split)}, {expected['shape']})"
                break
            if not bool(torch.isfinite(value).all()):
                reason = f"its {split} embeddings hold non-finite values"
                break
    if reason is not None:
        warn_recompute(cache, reason)
        return None
    return {"train": content["train"], "val": content["val"]}


def _save_embeddings(embeddings: dict[str, torch.Tensor], cache: Path, expected: dict) -> None:
    """``embeddings.pt`` and its record (:mod:`gennet.cache_record`)."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_torch_atomic(embeddings, cache)
    size, sha256 = file_digest(cache)
    write_record(cache, {**expected, "bytes": size, "sha256": sha256,
                         "counts": {split: len(value) for split, value in embeddings.items()}})


def _embedding_counts(datamodule, fit_images: int | None) -> tuple[int, int]:
    """``(N_train, N_val)``: the images :func:`embeddings_for` will embed."""
    datamodule.setup("fit")
    n_train = len(datamodule.train_dataset)
    return (n_train if fit_images is None else min(fit_images, n_train)), len(datamodule.val_dataset)


def train_prior(cfg: DictConfig) -> dict:
    """Fit or train the prior of ``cfg``, its run directory claimed for the run (a second run into it stops in one line);
    returns the metrics written to ``metrics.json``."""
    with claimed(Path(cfg.paths.output_dir), enabled=_is_first_process()):
        return _train_prior(cfg)


def _train_prior(cfg: DictConfig) -> dict:
    import lightning.pytorch as pl
    from hydra.utils import instantiate

    from ..data.resumable import ResumableDataLoader
    from ..lit.prior_module import PriorModule, PriorSampleGrids, prior_from_config

    run_dir = Path(cfg.paths.output_dir)
    with user_errors():
        batch_size = check_int("batch_size", cfg.batch_size, 1)
        if cfg.fit_images is not None:
            check_int("fit_images", cfg.fit_images, 2, why=" (or null for all)")
        fit_on = _fit_on(cfg)
        resuming = bool(cfg.get("ckpt_path"))
        if (run_dir / "prior.pt").exists():
            raise ConfigError("hydra.run.dir", f"'{run_dir}' already holds a prior (prior.pt), which is never overwritten "
                                               "(ckpt_path=last resumes only an unfinished run); choose another directory")
        if _is_first_process():
            _refuse_existing_run(run_dir, resuming)
        resume_from = _checkpoint_path(cfg, run_dir)
        checkpoint = None
        if resuming and (cfg.ckpt_path not in ("last", "hpc") or (resume_from is not None and resume_from.is_file())):
            checkpoint = load_checkpoint(resume_from)  # missing, unreadable or a payload: one line, nothing unpickled
        device = device_for(cfg.device)
        try:
            module, generator_checkpoint = load_generator(cfg.generator_ckpt, device)
        except ConfigError as error:  # load_generator names ckpt_path, sample.py's key
            raise ConfigError("generator_ckpt", error.message) from None
        shape = module.generator.embedding_shape
        config = _prior_config(cfg, shape, module.hparams.channels)
        try:
            prior = prior_from_config(config, shape)
        except ValueError as error:
            raise ConfigError("prior", str(error).removeprefix("prior: ")) from None
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
        cache = run_dir / "embeddings.pt"
        expected = _embeddings_record(cfg, shape, fit_on)
        embeddings = _cached_embeddings(cache, expected)
        if embeddings is None:
            datamodule = datamodule_for(generator_checkpoint, None, cfg.generator_ckpt)
            n_train, n_val = _embedding_counts(datamodule, cfg.fit_images)
            _check_count(prior, n_train)
            check_memory("fit_images", tensor_bytes(((n_train + n_val, *shape), 4)) * 2,
                         f"the embeddings of {n_train} + {n_val} images")
            embeddings = embeddings_for(module, datamodule, device, cfg.fit_images, fit_on)
            _save_embeddings(embeddings, cache, expected)
        else:
            _check_count(prior, len(embeddings["train"]))
    start = time.perf_counter()
    metrics: dict = {}
    grid = None
    if not any(True for _ in prior.parameters()):  # closed form: no Lightning
        prior.fit_(embeddings["train"], embeddings["val"])
        if hasattr(prior, "val_log_likelihood"):
            metrics["val/log_likelihood"] = float(prior.val_log_likelihood)
        grid = _grid(prior, module.generator, device)
    else:
        with user_errors():
            logger = instantiate(cfg.logger) if cfg.get("logger") else False
            callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
            trainer = _instantiate_trainer(cfg.trainer, logger, callbacks)
            # the steps of the cosine schedule, counted here (per process: each serves its share of the batches)
            steps_per_epoch = -(-len(embeddings["train"]) // trainer.world_size) // batch_size
            limit = cfg.trainer.get("limit_train_batches")
            if isinstance(limit, int) and not isinstance(limit, bool):
                steps_per_epoch = min(steps_per_epoch, limit)
            elif isinstance(limit, float):
                steps_per_epoch = int(steps_per_epoch * limit)
            max_epochs = cfg.trainer.get("max_epochs")
            total_steps = steps_per_epoch * max_epochs if isinstance(max_epochs, int) and max_epochs > 0 else None
            prior_module = PriorModule(config, list(shape), **OmegaConf.to_container(cfg.module, resolve=True),
                                       total_steps=total_steps)
            if checkpoint is not None:
                check_weights_fit(prior_module, checkpoint["state_dict"], resume_from)
            prior_module.prior.fit_statistics_(embeddings["train"])
        for callback in callbacks:
            if isinstance(callback, PriorSampleGrids):
                callback.set_generator(module.generator)
        if logger:
            logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
        # Each loader draws its iterators' base seed from its own generator, not from the global one that the flow
        # loss draws its noise from: a resumed run creates one iterator more than an uninterrupted one.
        train_loader = ResumableDataLoader(torch.utils.data.TensorDataset(embeddings["train"]), batch_size, seed=cfg.seed,
                                           drop_last=True, num_replicas=trainer.world_size, rank=trainer.global_rank,
                                           generator=torch.Generator().manual_seed(cfg.seed))
        val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(embeddings["val"]), batch_size=500,
                                                 generator=torch.Generator().manual_seed(cfg.seed))
        from lightning.pytorch.utilities.exceptions import SIGTERMException

        try:
            trainer.fit(prior_module, train_loader, val_loader, ckpt_path=cfg.get("ckpt_path"), weights_only=True)
        except SIGTERMException:
            if trainer.is_global_zero:
                print(f"resume with: python train_prior.py ckpt_path=last hydra.run.dir={run_dir} (and the same overrides)",
                      file=sys.stderr)
            sys.exit(EXIT_INTERRUPTED)
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        if best:
            state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
            prior_module.load_state_dict(state)
        prior = prior_module.ema_prior().cpu()
        metrics.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(("val/", "train/"))})
        if not trainer.is_global_zero:
            return metrics
    metrics["time/fit_seconds"] = time.perf_counter() - start
    folders = [run_dir / "samples"] if grid is not None else []
    with writing("hydra.run.dir", exclusive=False, folders=folders):  # the prior, its metrics and grid, or none
        if grid is not None:
            save_image_grid(grid, run_dir / "samples" / "samples.png", nrow=8)
        prior.save(run_dir / "prior.pt")
        write_text_atomic(run_dir / "metrics.json", json.dumps(dict(sorted(metrics.items())), indent=2) + "\n")
    print(f"{prior.kind} prior of w {tuple(shape)} fitted in {metrics['time/fit_seconds']:.1f} s: {(run_dir / 'prior.pt').resolve()}")
    print(f"sample with: python sample.py ckpt_path={cfg.generator_ckpt} prior_file={run_dir / 'prior.pt'}")
    return metrics


@torch.no_grad()
def _grid(prior, generator, device, n: int = 64) -> torch.Tensor:
    """``n`` samples of the prior decoded, ``(n, C, H, W)`` in [−1, 1], for ``samples/samples.png``."""
    w = prior.sample(n, torch.Generator().manual_seed(0)).to(device)
    return generator.decode(w).float().clamp(-1, 1)


def _check_count(prior, n_train: int) -> None:
    """The prior can be fitted on ``n_train`` training embeddings, or one line naming its key (before the work)."""
    try:
        prior.check_count(n_train)
    except ValueError as error:
        key, _, message = str(error).partition(": ")
        raise ConfigError(f"prior.{key}", f"{message} (fit_images={n_train}); lower prior.{key} or embed more images") from None


@entry_point("train_prior")
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-train-prior`` and ``python train_prior.py``)."""
    train_prior(cfg)


if __name__ == "__main__":
    main()
