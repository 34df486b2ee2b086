"""The dictionary-learning chores of a decoder with atoms, as a Lightning callback (DESIGN §4, §6).

:class:`~gennet.lit.GeneratorModule` adds it (``configure_callbacks``) when its decoder has a dictionary
(:class:`~gennet.models.SparseInverseGenerator`); the decoder does the work
(:meth:`~gennet.models.SparseInverseGenerator.init_atoms_from_data_`), the callback chooses when and on which images.
"""

from __future__ import annotations

import lightning.pytorch as pl
import torch

__all__ = ["ATOM_INITS", "DictionaryLearning"]

#: ``atom_init`` values.
ATOM_INITS = ("data", "random")

_IMAGES = 256  # training images drawn for a data initialization or a replacement


class DictionaryLearning(pl.Callback):
    """Data initialization of the atoms and replacement of unused atoms.

    - ``atom_init="data"``: at the start of a fresh fit (not a resume), atoms are patches of ``U x`` from up to 256
      training images drawn with ``seed`` (the same on every rank); ``"random"``: the decoder's Gaussian atoms stay.
    - ``replace_unused_atoms``: at the first step of epochs 1 … ``max_epochs``/2 − 1, atoms with no nonzero
      coefficient on any training image of the previous epoch (the module's ``train_atom_usage`` buffer, summed over
      ranks at every step, so the decision is the same on every rank and after a resume) are re-initialized with
      patches of the residual ``U x − D z`` of training images, where it has the most energy (drawn with ``seed``
      and the epoch; logged as ``train/replaced_atoms``). An unused atom gets no gradient from the Lasso solution,
      so it would otherwise stay unused; in the second half of training the dictionary settles (a replaced atom
      late in a cosine schedule cost ~1 dB in a trial).

    Args:
        atom_init: ``"data"`` or ``"random"``. replace_unused_atoms: as above. seed: seeds the draws.

    Raises:
        ValueError: an unknown ``atom_init``.
    """

    def __init__(self, atom_init: str = "data", replace_unused_atoms: bool = True, seed: int = 0) -> None:
        if atom_init not in ATOM_INITS:
            raise ValueError(f"atom_init must be one of {', '.join(ATOM_INITS)}, got {atom_init!r}")
        self.atom_init, self.replace_unused_atoms, self.seed = atom_init, bool(replace_unused_atoms), int(seed)

    @staticmethod
    def _images(trainer: pl.Trainer, pl_module: pl.LightningModule, generator: torch.Generator) -> torch.Tensor:
        dataset = trainer.datamodule.train_dataset
        indices = torch.randperm(len(dataset), generator=generator)[:_IMAGES].tolist()
        return torch.stack([dataset[i][0] for i in indices]).to(pl_module.device)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Fresh fits only: a resumed run has its dictionary in the checkpoint.
        if trainer.ckpt_path is not None or trainer.datamodule is None or self.atom_init != "data":
            return
        generator = torch.Generator().manual_seed(self.seed)  # draws the images, then the patches
        pl_module.generator.init_atoms_from_data_(self._images(trainer, pl_module, generator), generator)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int) -> None:
        usage = pl_module.train_atom_usage
        if not self.replace_unused_atoms or batch_idx != 0 or trainer.current_epoch == 0 or usage.sum() == 0:
            return
        if trainer.current_epoch >= (trainer.max_epochs or 0) // 2:
            usage.zero_()
            return
        unused = (usage == 0).nonzero().flatten()
        usage.zero_()
        pl_module.log("train/replaced_atoms", float(len(unused)), on_step=False, on_epoch=True,
                      batch_size=batch[0].shape[0], sync_dist=True)
        if len(unused) and trainer.datamodule is not None:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + trainer.current_epoch)
            images = self._images(trainer, pl_module, generator)
            pl_module.generator.init_atoms_from_data_(images, generator, atoms=unused.to(pl_module.device), residual=True)
