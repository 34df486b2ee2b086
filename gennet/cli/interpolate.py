"""``python interpolate.py ckpt_path=CKPT num_steps=8 output=strip.png`` / ``gennet-interpolate``.

Decodes ``w_t = (1 − t) w₁ + t w₂``, ``t = 0 … 1`` in ``num_steps`` steps, between pairs of held-out
(test) images, or between two draws of the prior with ``from_noise=true`` (the Gaussian model of ``w``, or
``prior_file=`` a file of ``train_prior.py``). With a prior that has a noise space (the flow prior) the path runs
there instead: the endpoints' noises ``ε₁``, ``ε₂`` (drawn, or the test images' ``w`` integrated back to noise)
are interpolated on the sphere (:func:`~gennet.priors.interpolation.slerp`, which keeps the norm a Gaussian noise has) and each point is
integrated to ``w`` — a path that stays on the prior's support. The PNG
has one row per pair (``num_pairs``), ``num_steps`` images per row; ``gif=true`` also writes an
animated GIF (``output`` with the suffix ``.gif``) that goes there and back. Images smaller than 64 pixels are
upscaled (nearest neighbour, :func:`gennet.figures.image_grid`) in both. Keys: ``gennet/conf/interpolate.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig

from ..errors import ConfigError, check_bool, check_int, check_number
from ..files import save_image_atomic
from ..figures.image_grid import grid_to_pil, image_grid, save_image_grid
from ..models.decoding import decode_batches
from ..priors.interpolation import slerp
from .devices import device_for
from .errors import user_errors
from .generation import check_images_memory, datamodule_for, load_generator, prior_for
from .startup import IMAGE_SUFFIXES, check_output_file, entry_point, writing

__all__ = ["main", "interpolate"]


def _endpoints(cfg: DictConfig, module, checkpoint, device: torch.device, pairs: int):
    """``((2, pairs, C_w, h, w), prior or None)``: the endpoints at ``t = 0`` and ``t = 1`` — embeddings, or the noises of
    a prior with a noise space (then also returned)."""
    datamodule = datamodule_for(checkpoint, cfg.get("data"), cfg.ckpt_path)
    generator = torch.Generator().manual_seed(int(cfg.seed))
    prior = prior_for(cfg, module, datamodule, device) if (cfg.from_noise or cfg.get("prior_file")) else None
    noise_space = prior is not None and prior.supports_noise
    if cfg.from_noise:
        if noise_space:
            w = float(cfg.temperature) * torch.randn(2 * pairs, *prior.shape, generator=generator)
        else:
            w = prior.sample(2 * pairs, generator=generator, temperature=float(cfg.temperature))
    else:
        datamodule.setup("test")
        dataset = datamodule.test_dataset
        if len(dataset) < 2 * pairs:
            raise ConfigError("num_pairs", f"the test split has {len(dataset)} images, too few for {pairs} pair(s)")
        indices = torch.randperm(len(dataset), generator=generator)[: 2 * pairs].tolist()
        with torch.no_grad():
            w = module.generator.encode(torch.stack([dataset[i][0] for i in indices]).to(device))
            if noise_space:
                w = prior.to_noise(w)
    return w.to(device).reshape(pairs, 2, *w.shape[1:]).transpose(0, 1), (prior if noise_space else None)


def interpolate(cfg: DictConfig) -> torch.Tensor:
    """Write the strip (and GIF); returns the images ``(num_pairs, num_steps, C, H, W)`` in [−1, 1]."""
    with user_errors():
        steps = check_int("num_steps", cfg.num_steps, 2)
        pairs = check_int("num_pairs", cfg.num_pairs, 1)
        for key in ("gif", "from_noise", "refit"):
            check_bool(key, cfg[key])
        check_number("temperature", cfg.temperature, 0)
        output = check_output_file("output", cfg.output, allowed_suffixes=IMAGE_SUFFIXES)
        if cfg.gif:
            check_int("frame_ms", cfg.frame_ms, 1, why=" milliseconds per GIF frame")
            check_output_file("output", output.with_suffix(".gif"))
        device = device_for(cfg.device)
        module, checkpoint = load_generator(cfg.ckpt_path, device)
        check_images_memory("num_steps", pairs * steps * (2 if cfg.gif else 1), module)
        (w1, w2), noise_prior = _endpoints(cfg, module, checkpoint, device, pairs)
    t = torch.linspace(0, 1, steps, device=device)
    if noise_prior is not None:
        path = noise_prior.from_noise(slerp(w1, w2, t).flatten(0, 1)).unflatten(0, (pairs, steps))
    else:
        t = t.view(1, steps, 1, 1, 1)
        path = (1 - t) * w1.unsqueeze(1) + t * w2.unsqueeze(1)  # (pairs, steps, C_w, h, w)
    images = torch.cat(list(decode_batches(module.generator, path.flatten(0, 1)))).unflatten(0, (pairs, steps)).cpu()
    output = Path(str(cfg.output))
    with writing("output", folders=[output.parent]):  # strip and GIF, or neither
        save_image_grid(images.flatten(0, 1), output, nrow=steps)
        if cfg.gif:
            frames = [grid_to_pil(image_grid(images[:, k], nrow=1)) for k in range(steps)]
            frames = frames + frames[-2:0:-1]  # there and back
            save_image_atomic(frames[0], output.with_suffix(".gif"), save_all=True, append_images=frames[1:],
                              duration=int(cfg.frame_ms), loop=0)
    what = "draws of the prior" if cfg.from_noise else "test images"
    where = f" along the {noise_prior.kind} prior's noise space" if noise_prior is not None else ""
    print(f"{pairs} interpolation(s) between {what}{where}, {steps} steps: {output.resolve()}")
    if cfg.gif:
        print(f"animation: {output.with_suffix('.gif').resolve()}")
    return images


@entry_point("interpolate")
def main(cfg: DictConfig) -> None:
    """Console entry point (``gennet-interpolate`` and ``python interpolate.py``)."""
    interpolate(cfg)


if __name__ == "__main__":
    main()
