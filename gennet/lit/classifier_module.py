"""Lightning module that trains a classifier network (DESIGN §7, §11) with one recipe for all of them.

The network is described by plain types — ``network: {_target_: gennet.models.HybridScatteringNet, J: 3, …}``
— and built here with the data's ``shape``, ``channels`` and ``num_classes``, so the checkpoint's
``hyper_parameters`` rebuild it and load with ``weights_only=True``. The older flat form
(``architecture: sparse_scatnet | scatnet`` and the keys of those two networks) is translated into the same
description, so earlier configs and checkpoints still load.

Cross-entropy, SGD with momentum and a step or cosine schedule; top-1 / top-5 accuracy from torchmetrics;
for the sparse network, code statistics (sparsity, support size, relative residual) and the learned ``λ*``
logged every step. A network with a train-set standardization (``network.features``: the scattering
classifiers of Zarka et al.) gets its statistics in a streaming pass over the training set at the start of
a fresh fit (with a progress bar); they then travel in the checkpoint.
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from ..models.sparse_scatnet import SparseScatteringClassifier
from ..registry import check_arguments
from .data_pass import reduce_statistics, training_images
from .data_record import DataRecord
from .optimization import OPTIMIZERS, cosine_per_step

__all__ = ["ARCHITECTURES", "LR_SCHEDULES", "ClassifierModule", "network_class"]

LR_SCHEDULES = ("step", "cosine", "constant")

#: ``architecture`` of the flat (pre-``network``) configs → the network it names.
ARCHITECTURES = {"sparse_scatnet": "gennet.models.SparseScatteringClassifier", "scatnet": "gennet.models.ScatteringClassifier"}

#: Keys of the flat form; ignored (and not saved) when ``network`` is given.
_FLAT_KEYS = ("architecture", "scattering", "proj_channels", "proj_kernel", "num_atoms", "n_layers", "lambda_star",
              "lambda_min", "learn_lambda", "tied", "head", "hidden", "dropout", "pool_size", "pool_stride")

def network_class(target: object) -> type[nn.Module]:
    """The network class named by ``network._target_``: one of :data:`gennet.models.registry.NETWORKS`, looked up by
    name (``gennet.models.HybridScatteringNet`` or its module's path); nothing is imported, so a checkpoint's
    ``hyper_parameters`` cannot make the loader import or call anything else.

    Raises:
        ValueError: ``target`` names no registered network (the message lists them).
    """
    from ..models.registry import NETWORKS

    return NETWORKS.lookup(target)


def _flat_network(architecture: str, scattering: dict, seed: int, **keys) -> dict:
    """The ``network`` description of a flat config (``architecture`` and the keys of that network)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    head = {k: keys[k] for k in ("head", "hidden", "dropout", "pool_size", "pool_stride")}
    if architecture == "scatnet":
        return {"_target_": ARCHITECTURES[architecture], **scattering, **head}
    return {"_target_": ARCHITECTURES[architecture], **scattering, **keys, "seed": seed}


class ClassifierModule(DataRecord, pl.LightningModule):
    """Train a classifier network with cross-entropy.

    Args (the Hydra ``model`` group, one-to-one; ``image_size``, ``channels``, ``num_classes`` come from
    the data module):
        network: the network as plain types, ``{"_target_": "gennet.models.<Class>", **arguments}``, built as
            ``Class(shape=(image_size, image_size), channels=channels, num_classes=num_classes, **arguments)``
            (:func:`network_class`): :class:`~gennet.models.HybridScatteringNet`,
            :class:`~gennet.models.SharedLocalEncoder`, :class:`~gennet.models.ResNet18`,
            :class:`~gennet.models.ScatteringClassifier`, :class:`~gennet.models.SparseScatteringClassifier`.
            ``None``: the flat form below.
        architecture: (flat form) ``"sparse_scatnet"`` (:class:`~gennet.models.SparseScatteringClassifier`) or
            ``"scatnet"`` (:class:`~gennet.models.ScatteringClassifier`; the sparse-coding arguments
            ``proj_*``, ``num_atoms``, ``n_layers``, ``lambda_*``, ``learn_lambda``, ``tied`` are unused).
        scattering: (flat form) ``{J, L, max_order, phases}`` (``phases: null`` for the modulus scattering).
        proj_channels, proj_kernel, num_atoms, n_layers, lambda_star, lambda_min, learn_lambda, tied,
            head, hidden, dropout, pool_size, pool_stride: (flat form) see the models.
        optimizer: ``"sgd"`` (momentum ``momentum``, Nesterov off), ``"adam"`` or ``"adamw"``; ``lr``,
            ``weight_decay`` (applied to every parameter, as in the paper).
        lr_schedule: ``"step"`` (× ``lr_gamma`` every ``lr_step_epochs`` epochs — Zarka et al.: 0.01,
            ÷10 every 60 of 160 epochs), ``"cosine"`` (to 0 over all steps, per step) or ``"constant"``.
        standardization_samples: training images used for the channel statistics, a random subset seeded
            by ``seed`` (``None``: every training image, once, as the training transform gives it).
        seed: seeds the initial dictionary (flat form) and the standardization subset.

    Logged: ``train/loss``, ``train/acc``; ``val/``/``test/`` ``loss``, ``acc``, ``acc_top5`` (fractions in
    [0, 1]; top-5 is top-``min(5, num_classes)``); for ``sparse_scatnet`` also ``train/sparsity``,
    ``train/support_size``, ``train/relative_residual`` and ``train/lambda`` (``λ*``).

    Raises:
        ValueError: a ``network._target_`` outside :data:`gennet.models.registry.NETWORKS`, network arguments its
            constructor does not take or that are not plain values, unknown ``architecture``/``optimizer``/
            ``lr_schedule``, bad numbers, and the networks' checks.
    """

    monitor = "val/acc"  #: metric of the best checkpoint (higher is better); see ``gennet.monitor``

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 1,
        num_classes: int = 10,
        network: dict | None = None,
        architecture: str = "sparse_scatnet",
        scattering: dict | None = None,
        proj_channels: int = 256,
        proj_kernel: int = 3,
        num_atoms: int = 2048,
        n_layers: int = 12,
        lambda_star: float = 0.05,
        lambda_min: float = 0.05,
        learn_lambda: bool = True,
        tied: bool = True,
        head: str = "mlp",
        hidden: int = 4096,
        dropout: float = 0.3,
        pool_size: int = 5,
        pool_stride: int = 1,
        optimizer: str = "sgd",
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 1e-4,
        lr_schedule: str = "step",
        lr_step_epochs: int = 60,
        lr_gamma: float = 0.1,
        standardization_samples: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        scattering = dict(scattering or {"J": 4, "L": 8, "max_order": 2, "phases": 4})
        scattering = {k: (None if v is None else int(v)) for k, v in scattering.items()}  # plain types in the checkpoint
        if network is not None:
            network = {str(k): (list(v) if isinstance(v, tuple) else v) for k, v in dict(network).items()}
        self.save_hyperparameters(ignore=list(_FLAT_KEYS) if network is not None else ["network"])
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {list(LR_SCHEDULES)}, got {lr_schedule!r}")
        if standardization_samples is not None and standardization_samples < 1:
            raise ValueError(f"standardization_samples must be >= 1 or null, got {standardization_samples}")
        if network is None:
            network = _flat_network(
                architecture, scattering, seed, proj_channels=proj_channels, proj_kernel=proj_kernel,
                num_atoms=num_atoms, n_layers=n_layers, lambda_star=lambda_star, lambda_min=lambda_min,
                learn_lambda=learn_lambda, tied=tied, head=head, hidden=hidden, dropout=dropout,
                pool_size=pool_size, pool_stride=pool_stride,
            )
        cls = network_class(network.get("_target_"))
        arguments = check_arguments(cls, {k: v for k, v in network.items() if k != "_target_"}, "network",
                                    given=("shape", "channels", "num_classes"))
        self.network = cls(shape=(image_size, image_size), channels=channels, num_classes=num_classes, **arguments)
        top_k = min(5, num_classes)
        for stage in ("train", "val", "test"):
            setattr(self, f"{stage}_acc", MulticlassAccuracy(num_classes, top_k=1, average="micro"))
        for stage in ("val", "test"):
            setattr(self, f"{stage}_acc_top5", MulticlassAccuracy(num_classes, top_k=top_k, average="micro"))

    @property
    def sparse(self) -> bool:
        return isinstance(self.network, SparseScatteringClassifier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → logits ``(B, num_classes)``."""
        return self.network(x)

    def on_fit_start(self) -> None:
        # Fresh fits only: a resumed run restores the statistics from its checkpoint.
        trainer = self.trainer
        features = getattr(self.network, "features", None)  # a train-set standardization to fit (Zarka et al.)
        if not hasattr(features, "fit_") or trainer.ckpt_path is not None or trainer.datamodule is None:
            return
        images = training_images(trainer.datamodule, self.device, self.hparams.standardization_samples,
                                 self.hparams.seed, "standardization statistics", trainer.is_global_zero,
                                 shard=(trainer.global_rank, trainer.world_size))
        features.fit_(images)
        reduce_statistics(self, features.standardization)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        x, y = batch
        # tensors are averaged over the DDP ranks (sync_dist); torchmetrics objects synchronize themselves
        log = dict(on_step=True, on_epoch=True, batch_size=x.shape[0], sync_dist=True)
        if self.sparse:
            logits, stats = self.network(x, return_stats=True)
            self.log_dict(
                {
                    "train/sparsity": stats.sparsity,
                    "train/support_size": stats.support_size,
                    "train/relative_residual": stats.relative_residual,
                    "train/lambda": stats.lambda_final,
                },
                **log,
            )
        else:
            logits = self.network(x)
        loss = F.cross_entropy(logits, y)
        self.train_acc(logits.detach(), y)
        self.log("train/loss", loss, prog_bar=True, **log)
        self.log("train/acc", self.train_acc, prog_bar=True, on_step=True, on_epoch=True)
        return loss

    def _evaluate(self, batch, stage: str) -> None:
        x, y = batch
        logits = self.network(x)
        acc, top5 = getattr(self, f"{stage}_acc"), getattr(self, f"{stage}_acc_top5")
        acc(logits, y)
        top5(logits, y)
        log = dict(on_step=False, on_epoch=True)
        self.log(f"{stage}/loss", F.cross_entropy(logits, y), batch_size=x.shape[0], sync_dist=True, **log)
        self.log(f"{stage}/acc", acc, prog_bar=True, **log)
        self.log(f"{stage}/acc_top5", top5, **log)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def configure_optimizers(self):
        hp = self.hparams
        kwargs = dict(lr=hp.lr, weight_decay=hp.weight_decay)
        if hp.optimizer == "sgd":
            kwargs["momentum"] = hp.momentum
        optimizer = OPTIMIZERS[hp.optimizer](self.parameters(), **kwargs)
        if hp.lr_schedule == "constant":
            return optimizer
        if hp.lr_schedule == "step":
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=hp.lr_step_epochs, gamma=hp.lr_gamma)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
        return cosine_per_step(optimizer, self.trainer)
