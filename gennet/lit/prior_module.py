"""Training a learned prior over ``w = Φ(x)`` as a second stage on a trained generator (DESIGN §12).

:class:`PriorModule` trains a prior that has parameters (:class:`~gennet.priors.FlowMatchingPrior`) on embeddings
computed once from the generator's training images (``train_prior.py`` does that): the prior's own loss, Adam,
a cosine learning rate over all steps, and an exponential moving average (EMA) of the weights — the weights that
are validated, sampled and exported. ``val/loss`` is the prior's loss on the validation embeddings with fixed
noise (``t``, ``x₀`` drawn from a seeded generator: the same every epoch), so the best checkpoint is chosen on
held-out data. :class:`PriorSampleGrids` decodes samples of the EMA prior with the generator at every
validation epoch (PNG on disk and to the loggers).

Resume: the EMA weights are buffers of the module (in every checkpoint), the batches come from a
:class:`~gennet.data.resumable.ResumableDataLoader` (``train_prior.py``), and the random states from the
:class:`~gennet.lit.RandomState` callback. ``total_steps`` keeps Lightning from building the training loader before
the checkpoint is read (it would then not restore the loader's position). The loaders draw their
iterators' seeds from their own generators (``train_prior.py``), so a resumed run's extra iterator leaves the global
random state — the flow loss's noise — untouched. DDP: the loss is a mean over the batch; Lightning averages gradients.
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import torch

from ..figures.image_grid import grid_to_pil, image_grid
from ..files import save_image_atomic
from ..limits import check_memory
from ..priors import PRIOR_KINDS, Prior, build_prior
from ..priors.loading import prior_bytes
from .callbacks import log_image_grid

__all__ = ["PriorModule", "PriorSampleGrids", "prior_from_config"]


def prior_from_config(config: dict, shape) -> Prior:
    """The prior of a config ``{"_target_": "gennet.priors.<Class>", **arguments}`` (the ``prior`` group) for embeddings
    of ``shape``; only the registered prior classes are built.

    Raises:
        ValueError: an unknown ``_target_``, arguments its constructor refuses, a prior larger than the memory free here
            (:func:`gennet.limits.check_memory`; sized on the ``meta`` device first).
    """
    config = dict(config)
    target = str(config.pop("_target_", ""))
    kinds = {f"gennet.priors.{cls.__name__}": kind for kind, cls in PRIOR_KINDS.items()}
    if target not in kinds:
        raise ValueError(f"prior._target_ must be one of {', '.join(sorted(kinds))}, got {target!r}")
    arguments = {"shape": list(shape), **config}
    try:
        with torch.device("meta"):  # its size first, with no memory spent
            skeleton = build_prior(kinds[target], arguments)
        check_memory("prior", prior_bytes(skeleton), f"the {kinds[target]} prior of w {tuple(shape)}")
        return build_prior(kinds[target], arguments)
    except TypeError as error:
        raise ValueError(f"prior: {error}") from None


class PriorModule(pl.LightningModule):
    """Train ``prior`` (a config of the ``prior`` group) on embeddings ``(B, C_w, h, w)``.

    Args:
        prior: the prior's config (``_target_`` and arguments, plain types).
        shape: ``(C_w, h, w)`` of the embeddings (the generator's ``embedding_shape``).
        lr, weight_decay: Adam's.
        ema: decay of the exponential moving average of the weights (0: none).
        val_seed: seeds the noise of the validation loss.
        total_steps: optimizer steps of the whole run, for the cosine schedule (``train_prior.py`` counts them; null:
            Lightning's ``estimated_stepping_batches``, which builds the training loader before a resumed run's
            checkpoint is read, so that the loader's position is not restored).

    Raises:
        ValueError: a prior without parameters (fit those directly: ``train_prior.py`` does), bad ``ema``.
    """

    monitor = "val/loss"  #: lower is better

    def __init__(self, prior: dict, shape: list[int], lr: float = 2e-3, weight_decay: float = 0.0, ema: float = 0.999,
                 val_seed: int = 1, total_steps: int | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.prior = prior_from_config(prior, shape)
        if not any(True for _ in self.prior.parameters()):
            raise ValueError(f"the {self.prior.kind} prior has no parameters to train; it is fitted in closed form")
        if not 0 <= ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {ema}")
        for name, p in self.prior.named_parameters():
            self.register_buffer("ema_" + name.replace(".", "_"), p.detach().clone())

    def on_fit_start(self) -> None:
        if self.trainer.ckpt_path is None:  # a fresh fit: the EMA starts at the initial weights
            self._copy_to_ema()

    @torch.no_grad()
    def _copy_to_ema(self) -> None:
        for name, p in self.prior.named_parameters():
            getattr(self, "ema_" + name.replace(".", "_")).copy_(p)

    def ema_prior(self) -> Prior:
        """A copy of the prior with the EMA weights (what is validated, sampled and exported), in eval mode."""
        import copy

        prior = copy.deepcopy(self.prior)
        with torch.no_grad():
            for name, p in prior.named_parameters():
                p.copy_(getattr(self, "ema_" + name.replace(".", "_")))
        return prior.eval()

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        (w,) = batch
        loss = self.prior.loss(w)
        self.log("train/loss", loss, prog_bar=True, batch_size=w.shape[0])
        return loss

    def optimizer_step(self, *args, **kwargs) -> None:
        # the EMA follows every optimizer step inside it, before any callback (e.g. Preemption) writes a checkpoint
        super().optimizer_step(*args, **kwargs)
        with torch.no_grad():
            for name, p in self.prior.named_parameters():
                getattr(self, "ema_" + name.replace(".", "_")).lerp_(p, 1 - self.hparams.ema)

    def on_validation_epoch_start(self) -> None:
        # kept out of the module's children (and so out of the state_dict and the checkpoints)
        object.__setattr__(self, "_val_prior", self.ema_prior())
        self._val_generator = torch.Generator(device=self.device).manual_seed(self.hparams.val_seed)

    def validation_step(self, batch, batch_idx: int) -> None:
        (w,) = batch
        loss = self._val_prior.loss(w, self._val_generator)
        self.log("val/loss", loss, prog_bar=True, batch_size=w.shape[0], sync_dist=True)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.prior.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        total = self.hparams.total_steps or self.trainer.estimated_stepping_batches
        total = max(int(total), 1)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


class PriorSampleGrids(pl.Callback):
    """Every validation epoch: ``num_samples`` samples ``G(w)``, ``w`` from the EMA prior with a fixed seed, as a PNG
    ``<dirpath>/epoch_{E:03d}_samples.png`` and ``val/samples`` in wandb / TensorBoard. Rank 0 only.

    The generator is handed over by ``train_prior.py`` (:meth:`set_generator`); without one nothing is drawn.

    Args:
        dirpath: output folder. num_samples: images per grid. nrow: per row. seed: of the draws.
    """

    def __init__(self, dirpath: str, num_samples: int = 64, nrow: int = 8, seed: int = 0) -> None:
        self.dirpath, self.num_samples, self.nrow, self.seed = Path(dirpath), int(num_samples), int(nrow), int(seed)
        self.generator = None

    def set_generator(self, generator) -> None:
        """The :class:`~gennet.models.SparseInverseGenerator` (or CNN decoder) that decodes the samples."""
        self.generator = generator

    @torch.no_grad()
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: PriorModule) -> None:
        if self.generator is None or trainer.sanity_checking or not trainer.is_global_zero or self.num_samples < 1:
            return
        w = pl_module._val_prior.sample(self.num_samples, torch.Generator().manual_seed(self.seed))
        images = self.generator.to(pl_module.device).decode(w.to(pl_module.device)).float().clamp(-1, 1)
        grid = image_grid(images, nrow=self.nrow)
        self.dirpath.mkdir(parents=True, exist_ok=True)
        save_image_atomic(grid_to_pil(grid), self.dirpath / f"epoch_{trainer.current_epoch:03d}_samples.png")
        log_image_grid(trainer, "val/samples", grid)
