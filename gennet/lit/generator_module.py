"""Lightning module that trains a :class:`~gennet.models.SparseInverseGenerator` (DESIGN §6).

Loss ``‖x − G(Φ(x))‖²`` (mean squared error, or L1), Adam by default, atoms renormalized after every
optimizer step; PSNR and SSIM from torchmetrics; the statistics of the sparse codes — nonzeros per pixel,
the relative duality gap of the Lasso, sparsity, support size, relative residual, λ* — logged for every
training step and over the validation and test sets; the usage of every atom over the validation set.
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from ..models.cnn_generator import CNNGenerator
from ..models.generator import SparseInverseGenerator
from .atom_usage import AtomUsageCounts
from .data_pass import reduce_statistics, training_images
from .data_record import DataRecord
from .optimization import OPTIMIZERS, cosine_per_step

__all__ = ["GeneratorModule"]

_DATA_RANGE = 2.0  # images live in [−1, 1]
_CODE_KEYS = ("nonzeros_per_pixel", "duality_gap", "sparsity", "support_size", "relative_residual")


def _code_logs(stats, stage: str) -> dict:
    """``{stage/key: value}`` for the code statistics logged at every stage."""
    return {f"{stage}/{key}": getattr(stats, key) for key in _CODE_KEYS}


class GeneratorModule(DataRecord, pl.LightningModule):
    """Train ``G`` to reconstruct images from their embedding ``Φ(x)``.

    Args (the Hydra ``model`` group, one-to-one; ``model=generator`` and ``model=cnn_generator``):
        architecture: ``"sparse"`` (:class:`~gennet.models.SparseInverseGenerator`, default) or ``"cnn"``
            (:class:`~gennet.models.CNNGenerator`, Angles & Mallat's baseline; the sparse-coding arguments
            are unused, and ``cnn_width`` / ``whiten`` apply).
        image_size: ``H = W`` in pixels (``${data.image_size}``).
        channels: image channels ``C`` (``${data.channels}``).
        encoder: ``{J, L, A}`` of the fixed embedding ``Φ = L∘U``.
        num_atoms, n_layers, lambda_star, atom_size, positive, learn_lambda, solver: see
            :class:`~gennet.models.SparseInverseGenerator` (``lambda_star`` is relative to ``λ_max``).
        atom_init: ``"data"`` — at the start of a fresh fit, atoms are patches of ``U x`` from up to 256
            training images drawn with ``seed`` (the same on every rank); ``"random"`` — Gaussian.
        loss: ``"mse"`` or ``"l1"``.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``; ``lr``, ``weight_decay`` its settings.
        lr_schedule: ``"cosine"`` (cosine decay to 0 over all training steps, per step) or ``"constant"``.
        seed: seed of the dictionary initialization.
        checkpoint_layers: activation checkpointing of the unrolled ISTC layers (less memory, more compute).
        replace_unused_atoms: at the start of epochs 1 … ``max_epochs``/2 − 1, atoms with no nonzero coefficient
            on any training image of the previous epoch are re-initialized with patches of the residual
            ``U x − D z`` of training images, where it has the most energy (drawn with ``seed`` and the epoch;
            logged as ``train/replaced_atoms``). An unused atom gets no gradient from the Lasso solution, so it
            would otherwise stay unused; in the second half of training the dictionary settles (a replaced atom
            late in a cosine schedule cost ~1 dB in a trial).
        cnn_width, whiten: width of the CNN decoder's first layer; PCA-whiten ``w`` (its statistics are
            computed over the training set at the start of a fresh fit).

    Logged: ``train/loss``, ``train/psnr``; ``val/psnr``, ``val/ssim``, ``val/psnr_lowpass`` (and the same
    under ``test/``), PSNR in dB for images in [−1, 1] (data range 2); for the sparse decoder, under
    ``train/``, ``val/`` and ``test/``: ``nonzeros_per_pixel``, ``duality_gap``, ``sparsity``,
    ``support_size``, ``relative_residual`` (:class:`~gennet.models.generator.CodeStatistics`; means over
    images) and ``train/lambda`` (λ*). ``val_atom_usage`` counts, per atom, its nonzero coefficients over
    the validation set (read by the :class:`~gennet.lit.AtomUsage` callback).

    Raises:
        ValueError: for bad model settings (see the generator) or an unknown ``loss``/``optimizer``.
    """

    monitor = "val/psnr"  #: metric of the best checkpoint (higher is better); see ``gennet.monitor``

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 1,
        encoder: dict | None = None,
        num_atoms: int = 64,
        n_layers: int = 32,
        lambda_star: float = 0.2,
        atom_size: int = 2,
        positive: bool = True,
        learn_lambda: bool = False,
        solver: str = "admm",
        atom_init: str = "data",
        loss: str = "mse",
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        lr_schedule: str = "cosine",
        seed: int = 0,
        architecture: str = "sparse",
        cnn_width: int = 256,
        whiten: bool = True,
        checkpoint_layers: bool = False,
        replace_unused_atoms: bool = True,
    ) -> None:
        super().__init__()
        # Plain types only in the hyper-parameters: checkpoints then load with weights_only=True.
        encoder = {k: int(v) for k, v in dict(encoder or {"J": 3, "L": 8, "A": 4}).items()}
        self.save_hyperparameters()
        if atom_init not in ("data", "random"):
            raise ValueError(f"atom_init must be 'data' or 'random', got {atom_init!r}")
        if lr_schedule not in ("cosine", "constant"):
            raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got {lr_schedule!r}")
        if loss not in ("mse", "l1"):
            raise ValueError(f"loss must be 'mse' or 'l1', got {loss!r}")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
        shape, J, L, A = (image_size, image_size), encoder["J"], encoder.get("L", 8), encoder.get("A", 4)
        if architecture == "sparse":
            self.generator = SparseInverseGenerator(
                shape, channels, J, L, A, num_atoms=num_atoms, n_layers=n_layers, lambda_star=lambda_star,
                atom_size=atom_size, positive=positive, learn_lambda=learn_lambda, solver=solver, seed=seed,
                checkpoint_layers=checkpoint_layers,
            )
            self.val_atom_usage = AtomUsageCounts(num_atoms)
            # nonzero coefficients of each atom since the last replacement, summed over ranks (in checkpoints)
            self.register_buffer("train_atom_usage", torch.zeros(num_atoms, dtype=torch.float64))
        elif architecture == "cnn":
            self.generator = CNNGenerator(shape, channels, J, L, A, width=cnn_width, whiten=whiten)
        else:
            raise ValueError(f"architecture must be 'sparse' or 'cnn', got {architecture!r}")
        self.train_psnr = PeakSignalNoiseRatio(data_range=_DATA_RANGE)
        for stage in ("val", "test"):
            setattr(self, f"{stage}_psnr", PeakSignalNoiseRatio(data_range=_DATA_RANGE))
            setattr(self, f"{stage}_ssim", StructuralSimilarityIndexMeasure(data_range=_DATA_RANGE))
            setattr(self, f"{stage}_psnr_lowpass", PeakSignalNoiseRatio(data_range=_DATA_RANGE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(x)

    def on_fit_start(self) -> None:
        # Fresh fits only: a resumed run has its dictionary and whitening in the checkpoint.
        trainer = self.trainer
        if trainer.ckpt_path is not None or trainer.datamodule is None:
            return
        if isinstance(self.generator, CNNGenerator):
            if self.generator.whitening is not None:
                self.generator.whitening.reset_()
                for x in training_images(trainer.datamodule, self.device, desc="whitening statistics",
                                         progress=trainer.is_global_zero, shard=(trainer.global_rank, trainer.world_size)):
                    self.generator.whitening.update_(self.generator.encode(x))
                reduce_statistics(self, self.generator.whitening)
            return
        if self.hparams.atom_init != "data":
            return
        self._atoms_from_data(torch.Generator().manual_seed(self.hparams.seed), 256)

    @torch.no_grad()
    def _atoms_from_data(
        self, generator: torch.Generator, num_images: int, atoms: torch.Tensor | None = None, residual: bool = False
    ) -> None:
        """Atoms (all, or ``atoms``) from patches of ``U x`` — or, with ``residual``, of what the current code leaves
        out, ``U x − D z`` — of ``num_images`` training images drawn with ``generator`` (the same on every rank)."""
        dataset = self.trainer.datamodule.train_dataset
        indices = torch.randperm(len(dataset), generator=generator)[:num_images].tolist()
        images = torch.stack([dataset[i][0] for i in indices]).to(self.device)
        coeffs = self.generator.rectified(images)
        if residual:
            coded = self.generator.dictionary(self.generator.sparse_code(self.generator.encode(images)))
            coeffs = coeffs._replace(bands=tuple(b - d for b, d in zip(coeffs.bands, coded.bands)))
        self.generator.dictionary.init_from_coefficients_(coeffs, generator, atoms=atoms)

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        # First step of epochs 1 … max_epochs/2 − 1: atoms no training image used in the last epoch are replaced
        # by patches of the residual U x − D z where it is largest (the dead-atom replacement of dictionary
        # learning); in the second half the dictionary settles. The counts are a buffer summed over ranks at every
        # step, so the decision is the same on every rank and after a resume.
        if not (self.hparams.replace_unused_atoms and isinstance(self.generator, SparseInverseGenerator)):
            return
        if batch_idx != 0 or self.current_epoch == 0 or self.train_atom_usage.sum() == 0:
            return
        if self.current_epoch >= (self.trainer.max_epochs or 0) // 2:
            self.train_atom_usage.zero_()
            return
        unused = (self.train_atom_usage == 0).nonzero().flatten()
        self.train_atom_usage.zero_()
        self.log("train/replaced_atoms", float(len(unused)), on_step=False, on_epoch=True, batch_size=batch[0].shape[0],
                 sync_dist=True)
        if len(unused) and self.trainer.datamodule is not None:
            generator = torch.Generator().manual_seed(self.hparams.seed * 1_000_003 + self.current_epoch)
            self._atoms_from_data(generator, 256, atoms=unused.to(self.device), residual=True)

    def _loss(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(x_hat, x) if self.hparams.loss == "mse" else F.l1_loss(x_hat, x)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x = batch[0]
        x_hat, stats = self.generator.decode(self.generator.encode(x), return_stats=True)
        loss = self._loss(x_hat, x)
        self.train_psnr(x_hat.detach().clamp(-1, 1), x)
        # tensors are averaged over the DDP ranks (sync_dist); torchmetrics objects synchronize themselves
        log = dict(on_step=True, on_epoch=True, batch_size=x.shape[0], sync_dist=True)
        self.log("train/loss", loss, prog_bar=True, **log)
        self.log("train/psnr", self.train_psnr, prog_bar=True, on_step=True, on_epoch=True)
        if stats is None:  # the CNN decoder has no sparse code
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
        if isinstance(self.generator, SparseInverseGenerator):
            self.val_atom_usage.reset()

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        # After the optimizer step: atoms back on the unit sphere (DESIGN §4).
        if isinstance(self.generator, SparseInverseGenerator):
            self.generator.normalize_atoms_()

    def configure_optimizers(self):
        cls = OPTIMIZERS[self.hparams.optimizer]
        # Adam and AdamW as one fused kernel over all parameters (CPU and CUDA): one operation per step, not ~10 per tensor
        fused = {"fused": True} if self.hparams.optimizer in ("adam", "adamw") and self.device.type in ("cpu", "cuda") else {}
        optimizer = cls(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay, **fused)
        if self.hparams.lr_schedule == "constant":
            return optimizer
        return cosine_per_step(optimizer, self.trainer)

