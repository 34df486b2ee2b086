"""Which atoms of ``D`` the codes use: counts over the validation set, a plot and the number never used.

An atom that no validation image uses is dead weight of the dictionary; a few atoms used everywhere are
the "background" the issue of a coherent dictionary warned about. Counted during validation by
:class:`AtomUsageCounts` (a torchmetrics metric: summed over DDP ranks), shown by :class:`AtomUsage`.
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from torchmetrics import Metric

from .callbacks import log_image_grid

__all__ = ["AtomUsage", "AtomUsageCounts", "plot_atom_usage"]


class AtomUsageCounts(Metric):
    """Per atom, the number of nonzero code coefficients over the images seen; ``compute()`` → uses per image ``(K,)``."""

    full_state_update = False

    def __init__(self, num_atoms: int) -> None:
        super().__init__()
        self.add_state("counts", default=torch.zeros(num_atoms, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("images", default=torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")

    def update(self, counts: torch.Tensor, images: int) -> None:
        """``counts: (K,)`` nonzero coefficients per atom in a batch of ``images`` images."""
        self.counts += counts.round().long()
        self.images += int(images)

    def compute(self) -> torch.Tensor:
        return self.counts.double() / self.images.clamp_min(1).double()


def plot_atom_usage(per_image: torch.Tensor, title: str) -> torch.Tensor:
    """A two-panel figure as a ``(3, H, W)`` image in [0, 1]: uses per image of every atom, sorted (left), and
    their histogram (right). ``per_image: (K,)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = per_image.detach().double().cpu()
    ranked = values.sort(descending=True).values.numpy()
    unused = int((values == 0).sum())
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=100)
    left.bar(range(1, len(ranked) + 1), ranked, width=1.0, color="tab:blue")
    left.set(xlabel="atoms, most used first", ylabel="nonzero coefficients per image", xlim=(0.5, len(ranked) + 0.5))
    left.set_title(f"{unused} of {len(ranked)} atoms never used", fontsize=11)
    right.hist(values.numpy(), bins=min(40, max(10, len(ranked) // 4)), color="tab:orange")
    right.set(xlabel="nonzero coefficients per image", ylabel="atoms")
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    fig.canvas.draw()
    image = torch.from_numpy(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    return image.permute(2, 0, 1).float() / 255.0


class AtomUsage(pl.Callback):
    """Every validation epoch: how often each atom of the sparse decoder is used on the validation set.

    Logs ``val/unused_atoms`` (atoms with no nonzero coefficient on any validation image), writes
    ``<dirpath>/epoch_{E:03d}_atom_usage.png`` (uses per image of every atom, sorted, and their histogram)
    and sends it to wandb/TensorBoard as ``val/atom_usage``. Needs a module with ``val_atom_usage``
    (:class:`AtomUsageCounts`; the sparse :class:`~gennet.lit.GeneratorModule` has one); others are
    skipped. Only rank 0 writes.

    Args:
        dirpath: output folder (``${paths.output_dir}/samples``).
    """

    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metric = getattr(pl_module, "val_atom_usage", None)
        if metric is None or trainer.sanity_checking:
            return
        per_image = metric.compute()  # on every rank: the counts are summed over ranks
        unused = int((per_image == 0).sum())
        pl_module.log("val/unused_atoms", float(unused), sync_dist=True)
        if not trainer.is_global_zero:
            return
        images = int(metric.images)
        image = plot_atom_usage(per_image, f"atom usage over {images} validation images, epoch {trainer.current_epoch}")
        self.dirpath.mkdir(parents=True, exist_ok=True)
        from torchvision.utils import save_image

        save_image(image, self.dirpath / f"epoch_{trainer.current_epoch:03d}_atom_usage.png")
        log_image_grid(trainer, "val/atom_usage", image)
