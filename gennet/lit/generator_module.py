"""Lightning module that trains a generator ``G`` (a decoder of :mod:`gennet.models`, DESIGN §6).

Loss ``‖x − G(Φ(x))‖²`` (mean squared error, or L1), Adam by default, the decoder's projection after every
optimizer step (the sparse decoder's atoms back on the unit sphere); PSNR and SSIM from torchmetrics; the
statistics of the sparse codes — nonzeros per pixel, the relative duality gap of the Lasso, sparsity, support
size, relative residual, λ* — logged for every training step and over the validation and test sets; the usage
of every atom over the validation set. The decoder is described by plain types
(:mod:`gennet.lit.decoder_description`); its data-dependent start is the decoder's own: a train-set statistic
(``decoder.whitening``, the CNN's) streamed at the start of a fresh fit, or the dictionary's chores
(:class:`~gennet.lit.dictionary_learning.DictionaryLearning`, for a decoder with atoms).
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from .atom_usage import AtomUsageCounts
from .data_pass import reduce_statistics, training_images
from .data_record import DataRecord
from .decoder_description import build_decoder, decoder_description
from .dictionary_learning import ATOM_INITS, DictionaryLearning
from .embedding_mixing import mix_embeddings
from .optimization import OPTIMIZERS, cosine_per_step, make_optimizer

__all__ = ["LOSSES", "LR_SCHEDULES", "GeneratorModule"]

#: ``model.loss`` → the loss of a reconstruction and its image.
LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss}

#: ``model.lr_schedule`` values.
LR_SCHEDULES = ("cosine", "constant")

_DATA_RANGE = 2.0  # images live in [−1, 1]
_CODE_KEYS = ("nonzeros_per_pixel", "duality_gap", "sparsity", "support_size", "relative_residual")


def _code_logs(stats, stage: str) -> dict:
    """``{stage/key: value}`` for the code statistics logged at every stage."""
    return {f"{stage}/{key}": getattr(stats, key) for key in _CODE_KEYS}


class GeneratorModule(DataRecord, pl.LightningModule):
    """Train ``G`` to reconstruct images from their embedding ``Φ(x)``.

    Args (the Hydra ``model`` group, one-to-one; ``model=generator`` and ``model=cnn_generator``):
        image_size: ``H = W`` in pixels (``${data.image_size}``).
        channels: image channels ``C`` (``${data.channels}``).
        decoder: ``{_target_: gennet.models.<Decoder>, **arguments}``: :class:`~gennet.models.SparseInverseGenerator`
            (default) or :class:`~gennet.models.CNNGenerator` (Angles & Mallat's baseline), built as
            ``Decoder((image_size, image_size), channels, **arguments)`` with the top-level keys below that it takes
            (:func:`~gennet.lit.decoder_description.decoder_description`; its own arguments win).
        solver: the sparse decoder's Lasso solver, ``{_target_: gennet.sparse.<Solver>, **arguments}``:
            :class:`~gennet.sparse.ADMM` (default), :class:`~gennet.sparse.ISTC`,
            :class:`~gennet.sparse.ActiveSetHomotopy`; the short names of earlier configs (``admm``, ``istc``,
            ``active_set``) are read too.
        encoder: ``{J, L, A}`` of the fixed embedding ``Φ = L∘U``.
        num_atoms, atom_size: of the sparse decoder. n_layers, lambda_star, positive, learn_lambda: of its solver
            (``lambda_star`` is relative to ``λ_max``). checkpoint_layers: activation checkpointing of the unrolled
            ISTC layers (less memory, more compute; ``ISTC`` only). cnn_width, whiten: the CNN decoder's ``width``
            and ``whiten``.
        architecture: (flat form of earlier configs) ``"sparse"`` or ``"cnn"``, when ``decoder`` is not given.
        atom_init, replace_unused_atoms: the dictionary's chores (:class:`~gennet.lit.dictionary_learning.DictionaryLearning`).
        loss: ``"mse"`` or ``"l1"`` (:data:`LOSSES`).
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"`` (:data:`~gennet.lit.optimization.OPTIMIZERS`); ``lr``,
            ``weight_decay`` its settings.
        lr_schedule: ``"cosine"`` (cosine decay to 0 over all training steps, per step) or ``"constant"``.
        seed: seed of the dictionary initialization and of the atoms drawn from data.
        embedding_mix: train on ``w_i + t_i (w_π(i) − w_i)``, ``t_i ~ U[0, embedding_mix]`` (another image of the batch),
            against ``x_i``: a decoder that forgives a prior's errors (:mod:`gennet.lit.embedding_mixing`); 0: exact
            embeddings only. Validation and test decode exact embeddings.

    The hyper-parameters saved (and read back from a checkpoint) hold the full ``decoder`` description, not the
    top-level keys it was made from.

    Logged: ``train/loss``, ``train/psnr``; ``val/psnr``, ``val/ssim``, ``val/psnr_lowpass`` (and the same
    under ``test/``), PSNR in dB for images in [−1, 1] (data range 2); for the sparse decoder, under
    ``train/``, ``val/`` and ``test/``: ``nonzeros_per_pixel``, ``duality_gap``, ``sparsity``,
    ``support_size``, ``relative_residual`` (:class:`~gennet.models.generator.CodeStatistics`; means over
    images) and ``train/lambda`` (λ*). ``val_atom_usage`` counts, per atom, its nonzero coefficients over
    the validation set (read by the :class:`~gennet.lit.AtomUsage` callback).

    Raises:
        ValueError: for bad model settings (see the decoders and solvers) or an unknown decoder, solver,
            ``loss``/``optimizer``/``lr_schedule``/``atom_init``.
    """

    monitor = "val/psnr"  #: metric of the best checkpoint (higher is better); see ``gennet.monitor``

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 1,
        decoder: dict | None = None,
        solver: dict | str | None = None,
        encoder: dict | None = None,
        num_atoms: int = 64,
        n_layers: int = 32,
        lambda_star: float = 0.2,
        atom_size: int = 2,
        positive: bool = True,
        learn_lambda: bool = False,
        atom_init: str = "data",
        loss: str = "mse",
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        lr_schedule: str = "cosine",
        seed: int = 0,
        architecture: str | None = None,
        cnn_width: int = 256,
        whiten: bool = True,
        checkpoint_layers: bool = False,
        replace_unused_atoms: bool = True,
        embedding_mix: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0 <= embedding_mix <= 1:
            raise ValueError(f"embedding_mix must be in [0, 1], got {embedding_mix}")
        if atom_init not in ATOM_INITS:
            raise ValueError(f"atom_init must be one of {', '.join(ATOM_INITS)}, got {atom_init!r}")
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {lr_schedule!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
        encoder = {k: int(v) for k, v in dict(encoder or {"J": 3, "L": 8, "A": 4}).items()}
        description = decoder_description(
            None if decoder is None else _plain(decoder), _plain(solver), architecture, encoder, num_atoms=num_atoms,
            n_layers=n_layers, lambda_star=lambda_star, atom_size=atom_size, positive=positive, learn_lambda=learn_lambda,
            seed=seed, cnn_width=cnn_width, whiten=whiten, checkpoint_layers=checkpoint_layers,
        )
        # Plain types only in the hyper-parameters: checkpoints then load with weights_only=True.
        self.save_hyperparameters(dict(
            image_size=image_size, channels=channels, decoder=description, atom_init=atom_init, loss=loss,
            optimizer=optimizer, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule, seed=seed,
            replace_unused_atoms=replace_unused_atoms, embedding_mix=float(embedding_mix),
        ))
        self.generator = build_decoder(description, (image_size, image_size), channels)
        num_atoms = getattr(self.generator, "num_atoms", None)  # a decoder with a dictionary
        if num_atoms is not None:
            self.val_atom_usage = AtomUsageCounts(num_atoms)
            # nonzero coefficients of each atom since the last replacement, summed over ranks (in checkpoints)
            self.register_buffer("train_atom_usage", torch.zeros(num_atoms, dtype=torch.float64))
        self.train_psnr = PeakSignalNoiseRatio(data_range=_DATA_RANGE)
        for stage in ("val", "test"):
            setattr(self, f"{stage}_psnr", PeakSignalNoiseRatio(data_range=_DATA_RANGE))
            setattr(self, f"{stage}_ssim", StructuralSimilarityIndexMeasure(data_range=_DATA_RANGE))
            setattr(self, f"{stage}_psnr_lowpass", PeakSignalNoiseRatio(data_range=_DATA_RANGE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(x)

    def configure_callbacks(self) -> list[pl.Callback]:
        """The dictionary's chores, for a decoder with atoms."""
        if not hasattr(self, "train_atom_usage"):
            return []
        hp = self.hparams
        return [DictionaryLearning(hp.atom_init, hp.replace_unused_atoms, hp.seed)]

    def on_fit_start(self) -> None:
        # Fresh fits only: a resumed run has its statistics in the checkpoint.
        trainer = self.trainer
        statistics = getattr(self.generator, "whitening", None)  # a train-set statistic of w (the CNN's whitening)
        if statistics is None or trainer.ckpt_path is not None or trainer.datamodule is None:
            return
        statistics.reset_()
        for x in training_images(trainer.datamodule, self.device, desc="whitening statistics",
                                 progress=trainer.is_global_zero, shard=(trainer.global_rank, trainer.world_size)):
            statistics.update_(self.generator.encode(x))
        reduce_statistics(self, statistics)

    def _loss(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return LOSSES[self.hparams.loss](x_hat, x)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x = batch[0]
        w = self.generator.encode(x)
        strength = float(self.hparams.get("embedding_mix", 0.0))
        if strength:  # drawn from (seed, step, rank) alone: a run resumed mid-epoch mixes as the uninterrupted one did
            seed = ((int(self.hparams.seed) * 1_000_003 + int(self.global_step)) * 4096 + int(self.global_rank)) % 2**63
            w = mix_embeddings(w, strength, torch.Generator(device=w.device).manual_seed(seed))
        x_hat, stats = self.generator.decode(w, return_stats=True)
        loss = self._loss(x_hat, x)
        self.train_psnr(x_hat.detach().clamp(-1, 1), x)
        # tensors are averaged over the DDP ranks (sync_dist); torchmetrics objects synchronize themselves
        log = dict(on_step=True, on_epoch=True, batch_size=x.shape[0], sync_dist=True)
        self.log("train/loss", loss, prog_bar=True, **log)
        self.log("train/psnr", self.train_psnr, prog_bar=True, on_step=True, on_epoch=True)
        if stats is None:  # a decoder without a sparse code
            return loss
        self.log_dict({**_code_logs(stats, "train"), "train/lambda": stats.lambda_star}, **log)
        self.train_atom_usage += self.trainer.strategy.reduce(stats.atom_usage.double(), reduce_op="sum")
        return loss

    def _evaluate(self, batch, stage: str) -> None:
        x = batch[0]
        w = self.generator.encode(x)
        x_hat, stats = self.generator.decode(w, return_stats=True)
        x_hat = x_hat.clamp(-1, 1)
        lowpass = self.generator.lowpass_image(w).clamp(-1, 1)
        getattr(self, f"{stage}_psnr")(x_hat, x)
        getattr(self, f"{stage}_ssim")(x_hat, x)
        getattr(self, f"{stage}_psnr_lowpass")(lowpass, x)
        log = dict(on_step=False, on_epoch=True, batch_size=x.shape[0])
        self.log(f"{stage}/psnr", getattr(self, f"{stage}_psnr"), prog_bar=True, **log)
        self.log(f"{stage}/ssim", getattr(self, f"{stage}_ssim"), **log)
        self.log(f"{stage}/psnr_lowpass", getattr(self, f"{stage}_psnr_lowpass"), **log)
        if stats is not None:
            self.log_dict(_code_logs(stats, stage), sync_dist=True, **log)
            if stage == "val":
                self.val_atom_usage.update(stats.atom_usage, x.shape[0])

    def on_validation_epoch_start(self) -> None:
        if hasattr(self, "val_atom_usage"):
            self.val_atom_usage.reset()

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        self.generator.after_optimizer_step_()  # e.g. the atoms back on the unit sphere (DESIGN §4)

    def configure_optimizers(self):
        optimizer = make_optimizer(self.hparams.optimizer, self.parameters(), self.device, lr=self.hparams.lr,
                                   weight_decay=self.hparams.weight_decay)
        if self.hparams.lr_schedule == "constant":
            return optimizer
        return cosine_per_step(optimizer, self.trainer)


def _plain(value):
    """``value`` with mappings as ``dict`` and sequences as ``list`` (a Hydra config passes ``DictConfig``s)."""
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
