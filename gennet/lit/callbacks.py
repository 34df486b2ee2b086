"""Callbacks that let users see their work: image grids written to disk and to the logger."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from ..figures.image_grid import grid_to_pil, image_grid
from ..files import save_image_atomic

__all__ = ["ReconstructionGrids", "log_image_grid"]


def log_image_grid(trainer: pl.Trainer, key: str, grid: torch.Tensor) -> None:
    """Send a ``(3, H, W)`` grid in [0, 1] to every logger of ``trainer`` that takes images."""
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key=key, images=[grid], step=trainer.global_step)
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, grid, global_step=trainer.global_step)


class ReconstructionGrids(pl.Callback):
    """Every validation epoch: grids of originals, reconstructions ``G(Φ(x))``, the low-pass baseline, and atoms.

    The same ``num_images`` validation images (the first ones of the validation set) are shown
    every epoch. PNGs go to ``<dirpath>/epoch_{E:03d}_{originals,reconstructions,lowpass}.png``
    (images in [−1, 1] mapped to [0, 1], ``nrow`` per row, each upscaled to at least 64 pixels by
    :func:`~gennet.figures.image_grid`); the grids are also logged under
    ``val/originals``, ``val/reconstructions``, ``val/lowpass`` to wandb or TensorBoard. For the sparse
    generator, the first ``num_atoms`` atoms of ``D`` in image space (``U⁻¹ D e_k``, each scaled to its own
    range, "the patterns stored in D") go to ``epoch_{E:03d}_atoms.png`` and ``val/atoms``. Only
    rank 0 writes; the sanity-check epoch is skipped; modules without a ``generator`` (the classifiers)
    are skipped.

    Args:
        dirpath: output folder (``${paths.output_dir}/samples``).
        num_images: images per grid.
        nrow: images per grid row.
        num_atoms: atoms in the atom grid (0: none).
    """

    def __init__(self, dirpath: str, num_images: int = 32, nrow: int = 8, num_atoms: int = 64) -> None:
        self.dirpath = Path(dirpath)
        self.num_images = int(num_images)
        self.nrow = int(nrow)
        self.num_atoms = int(num_atoms)
        self._images: torch.Tensor | None = None

    def _validation_images(self, trainer: pl.Trainer) -> torch.Tensor:
        if self._images is None:
            dataset = trainer.datamodule.val_dataset
            count = min(self.num_images, len(dataset))
            self._images = torch.stack([dataset[i][0] for i in range(count)])
        return self._images

    @torch.no_grad()
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        generator = getattr(pl_module, "generator", None)
        if generator is None or trainer.sanity_checking or not trainer.is_global_zero:
            return
        x = self._validation_images(trainer).to(pl_module.device)
        w = generator.encode(x)
        grids = {
            "originals": x,
            "reconstructions": generator.decode(w),
            "lowpass": generator.lowpass_image(w),
        }
        grids = {name: image_grid(images, nrow=self.nrow) for name, images in grids.items()}
        if self.num_atoms and hasattr(generator, "atom_images"):
            atoms = generator.atom_images(self.num_atoms)
            grids["atoms"] = image_grid(atoms, nrow=self.nrow, value_range=None, scale_each=True, pad_value=1.0)
        self.dirpath.mkdir(parents=True, exist_ok=True)
        for name, grid in grids.items():
            save_image_atomic(grid_to_pil(grid), self.dirpath / f"epoch_{trainer.current_epoch:03d}_{name}.png")
            log_image_grid(trainer, f"val/{name}", grid)
