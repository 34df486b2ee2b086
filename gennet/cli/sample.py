"""``python sample.py ckpt_path=CKPT [prior_file=PRIOR.pt] num_samples=64 output=grid.png seed=0`` / ``gennet-sample``.

Draws ``w`` from a prior over the embedding and writes a PNG grid of ``G(w)`` and the images themselves as
``<output stem>.pt`` (float32 in [−1, 1], ``(N, C, H, W)``, written through a temporary file and a rename; loads
with ``weights_only=True``). The prior: ``prior_file=`` a file written by ``train_prior.py`` (a Gaussian mixture or a
flow prior, :mod:`gennet.priors`), or, without it, the Gaussian model of ``w`` (fitted on the training images
and saved beside the checkpoint as ``<name>.gaussian.pt`` the first time, with a progress bar). With ``condition=N`` (the first ``N`` test images) or ``condition=[i,j,…]`` (test indices):
coarse-grain sampling (:mod:`gennet.priors.coarse_grain`), one row per test image — the image, its
low-pass image, then ``samples_per_condition`` samples that keep the low-pass channel of its ``w`` (priors that
can be conditioned: the Gaussian model, a flow prior trained with ``condition_channels: lowpass``); the ``.pt``
then holds the samples, ``(B·S, C, H, W)``, and the low-pass agreement of the samples with their conditions
(:mod:`gennet.metrics.lowpass_agreement`) is printed.
Images smaller than 64 pixels are upscaled (nearest neighbour, :func:`gennet.figures.image_grid`).
Keys: ``gennet/conf/sample.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, ListConfig

from ..errors import ConfigError, check_bool, check_int, check_number
from ..figures.image_grid import save_image_grid
from ..metrics.lowpass_agreement import lowpass_agreement
from ..models.decoding import decode_batches
from ..priors.coarse_grain import coarse_grain
from .devices import device_for
from .errors import user_errors
from .generation import check_images_memory, datamodule_for, describe, load_generator, prior_for, save_tensor
from .startup import IMAGE_SUFFIXES, check_output_file, entry_point, writing

__all__ = ["main", "sample", "condition_indices"]


def condition_indices(value, test_size: int) -> list[int]:
    """``condition=N`` → the first ``N`` test images; ``condition=[i, j, …]`` → those test indices.

    Raises:
        ConfigError: ``"condition"`` for anything else, an index out of range, or ``N`` larger than the split.
    """
    if isinstance(value, (list, tuple, ListConfig)):
        indices = list(value)
        if not indices or not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
            raise ConfigError("condition", f"expected a non-empty list of test indices, e.g. condition=[0,5,9], got {value}")
        bad = [i for i in indices if not 0 <= i < test_size]
        if bad:
            raise ConfigError("condition", f"test index {bad[0]} is out of range: the test split has {test_size} images (0 … {test_size - 1})")
        return indices
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= test_size:
            raise ConfigError("condition", f"condition=N takes the first N test images: need 1 <= N <= {test_size}, got {value}")
        return list(range(value))
    raise ConfigError("condition", f"expected N (the first N test images) or a list of test indices like [0,5,9], got {value!r}")


def sample(cfg: DictConfig) -> torch.Tensor:
    """Write the grid of ``cfg.num_samples`` samples to ``cfg.output``; returns the images ``(n, C, H, W)`` in [−1, 1]
    (with ``cfg.condition``: the coarse-grain rows ``(B, 2 + S, C, H, W)``, see :func:`~gennet.priors.coarse_grain.coarse_grain`)."""
    with user_errors():
        n = check_int("num_samples", cfg.num_samples, 1)
        nrow = check_int("nrow", cfg.nrow, 1)
        check_number("temperature", cfg.temperature, 0)
        check_bool("refit", cfg.refit)
        output = check_output_file("output", cfg.output, allowed_suffixes=IMAGE_SUFFIXES)
        check_output_file("output", output.with_suffix(".pt"))  # the tensor beside the grid
        device = device_for(cfg.device)
        module, checkpoint = load_generator(cfg.ckpt_path, device)
        if cfg.condition is None:
            check_images_memory("num_samples", n, module)  # before the data and a long fit of the Gaussian model
        datamodule = datamodule_for(checkpoint, cfg.get("data"), cfg.ckpt_path)
        if cfg.condition is not None:  # checked before a long fit of the Gaussian model
            per_condition = check_int("samples_per_condition", cfg.samples_per_condition, 1)
            datamodule.setup("test")
            indices = condition_indices(cfg.condition, len(datamodule.test_dataset))
            check_images_memory("samples_per_condition", len(indices) * (2 + per_condition), module)
        model = prior_for(cfg, module, datamodule, device)
        if cfg.condition is not None and not model.supports_condition:
            raise ConfigError("prior_file", f"the {model.kind} prior cannot be conditioned on the low-pass channels; use the "
                                       "Gaussian model (no prior_file=) or a flow prior trained with condition_channels=lowpass")
    if cfg.condition is not None:
        return _coarse_grain(cfg, module, model, datamodule, indices, per_condition, device)
    w = model.sample(n, generator=torch.Generator().manual_seed(int(cfg.seed)), temperature=float(cfg.temperature))
    images = torch.cat(list(decode_batches(module.generator, w.to(device))))
    output = Path(str(cfg.output))
    _write(output, images, images, nrow)
    print(f"{n} samples G(w), {describe(model)}, temperature {cfg.temperature}: {output.resolve()} "
          f"(tensor: {output.with_suffix('.pt').name})")
    return images


def _coarse_grain(cfg: DictConfig, module, model, datamodule, indices: list[int], per_condition: int, device) -> torch.Tensor:
    x = torch.stack([datamodule.test_dataset[i][0] for i in indices]).to(device)
    rows = coarse_grain(module.generator, model, x, per_condition, int(cfg.seed), float(cfg.temperature))
    psnr = lowpass_agreement(module.generator, x, rows[:, 2:])
    rows = rows.cpu()
    output = Path(str(cfg.output))
    _write(output, rows.flatten(0, 1), rows[:, 2:].flatten(0, 1), 2 + per_condition)
    print(f"coarse-grain sampling: test image(s) {indices}, {per_condition} samples each keeping the low-pass channel of w, "
          f"the other channels drawn from the {describe(model).removeprefix('w from the ').removeprefix('w ~ ')} conditioned "
          f"on it, temperature {cfg.temperature}: {output.resolve()} (tensor: {output.with_suffix('.pt').name})")
    print(f"low-pass of the decoded samples vs the condition's: PSNR {psnr['samples']:.2f} dB "
          f"(the test images' own reconstructions G(Phi(x)): {psnr['reconstructions']:.2f} dB)")
    return rows


def _write(output: Path, grid: torch.Tensor, tensor: torch.Tensor, nrow: int) -> None:
    """The grid ``output`` and its tensor ``<stem>.pt``, together or neither (a full disk: one line, nothing written;
    a file another run wrote meanwhile is not replaced)."""
    with writing("output", folders=[output.parent]):
        save_image_grid(grid, output, nrow=nrow)
        save_tensor(tensor, output.with_suffix(".pt"))


@entry_point("sample")
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-sample`` and ``python sample.py``)."""
    sample(cfg)


if __name__ == "__main__":
    main()
