"""``python sample.py ckpt_path=CKPT num_samples=64 output=grid.png seed=0`` / ``gennet-sample``.

Draws ``w`` from the Gaussian model of the embedding (fitted on the training images and saved beside
the checkpoint as ``<name>.gaussian.pt`` the first time, with a progress bar) and writes a PNG grid of
``G(w)``. Keys: ``conf/sample.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from torchvision.utils import make_grid, save_image

from ..errors import ConfigError, check_int
from .errors import user_errors
from .generation import datamodule_for, decode, device_for, gaussian_for, load_generator
from .train import CONFIG_DIR

__all__ = ["main", "sample"]


def sample(cfg: DictConfig) -> torch.Tensor:
    """Write the grid of ``cfg.num_samples`` samples to ``cfg.output``; returns the images ``(n, C, H, W)`` in [−1, 1]."""
    with user_errors():
        n = check_int("num_samples", cfg.num_samples, 1)
        nrow = check_int("nrow", cfg.nrow, 1)
        if not float(cfg.temperature) >= 0:
            raise ConfigError("temperature", f"must be >= 0, got {cfg.temperature}")
        device = device_for(cfg.device)
        module, checkpoint = load_generator(cfg.ckpt_path, device)
        datamodule = datamodule_for(checkpoint, cfg.get("data"), cfg.ckpt_path)
        model = gaussian_for(module, cfg.ckpt_path, datamodule, device, cfg.covariance, cfg.fit_images, cfg.refit)
    w = model.sample(n, generator=torch.Generator().manual_seed(int(cfg.seed)), temperature=float(cfg.temperature))
    images = torch.cat(list(decode(module, w.to(device))))
    output = Path(str(cfg.output))
    output.parent.mkdir(parents=True, exist_ok=True)
    save_image(make_grid(images.cpu(), nrow=nrow, normalize=True, value_range=(-1, 1)), output)
    print(f"{n} samples G(w), w ~ N(mu, Sigma) [{model.covariance}], temperature {cfg.temperature}: {output.resolve()}")
    return images


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="sample")
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-sample`` and ``python sample.py``)."""
    sample(cfg)


if __name__ == "__main__":
    main()
