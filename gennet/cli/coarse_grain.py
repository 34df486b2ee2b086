"""Coarse-grain sampling for ``sample.py condition=…`` (seed 001 "Coarse grain model"; DESIGN §6b).

For each chosen test image ``x``: keep the low-pass channel(s) of ``w = Φ(x)`` (``x ⋆ φ_J`` on the coarse
grid, channel 0 of each image channel's block, the layout :meth:`EmbeddingInverse.lowpass_image` reads),
draw the other channels from the prior of ``w`` conditioned on them (the Gaussian model:
:class:`~gennet.priors.ConditionalGaussianEmbedding`; a flow prior trained with its low-pass channels:
:class:`~gennet.priors.ConditionalFlowSampler`), and decode. One PNG row per condition: the test
image, its low-pass image, then the samples — images that share the coarse structure and differ in detail.
How well the decoder keeps that structure is measured by the PSNR of ``lowpass_image(Φ(G(w)))`` against
``lowpass_image(w_condition)`` over all samples, beside the same for the test images' own reconstructions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from omegaconf import ListConfig
from torchmetrics.image import PeakSignalNoiseRatio

from ..errors import ConfigError
from ..figures.image_grid import save_image_grid
from ..priors import Prior
from .generation import decode

__all__ = ["lowpass_channels", "condition_indices", "coarse_grain"]


def lowpass_channels(embedding_shape: Sequence[int], image_channels: int) -> list[int]:
    """The channels of ``w: (C_w, h, w)`` that hold the low-pass ``x ⋆ φ_J``: channel 0 of each of the
    ``image_channels`` blocks of ``C_w / image_channels`` channels (:meth:`EmbeddingInverse.lowpass_image`'s layout)."""
    per_image_channel = int(embedding_shape[0]) // image_channels
    return [c * per_image_channel for c in range(image_channels)]


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


@torch.no_grad()
def coarse_grain(
    module,
    model: Prior,
    x: torch.Tensor,
    samples_per_condition: int,
    output: str | Path,
    seed: int = 0,
    temperature: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Coarse-grain samples of the test images ``x: (B, C, H, W)`` (on the module's device), written as a PNG to ``output``.

    Returns the rows ``(B, 2 + S, C, H, W)`` in [−1, 1] on the CPU (test image, its low-pass image,
    ``S = samples_per_condition`` samples) and the low-pass agreement in dB: ``{"samples": PSNR of
    lowpass_image(Φ(G(w))) vs lowpass_image(w_condition) over all samples, "reconstructions": the same for
    G(Φ(x))}``.
    """
    generator = module.generator
    w = generator.encode(x)
    conditional = model.condition(lowpass_channels(w.shape[1:], x.shape[1]))
    draws = conditional.sample(w, samples_per_condition, generator=torch.Generator().manual_seed(seed), temperature=temperature)
    samples = torch.cat(list(decode(module, draws.flatten(0, 1)))).unflatten(0, draws.shape[:2])
    target = generator.lowpass_image(w).float().clamp(-1, 1)
    agreement = {"samples": PeakSignalNoiseRatio(data_range=2.0).to(x.device),
                 "reconstructions": PeakSignalNoiseRatio(data_range=2.0).to(x.device)}
    agreement["reconstructions"].update(generator.lowpass_image(generator.encode(torch.cat(list(decode(module, w))))).float(), target)
    for k in range(samples_per_condition):
        agreement["samples"].update(generator.lowpass_image(generator.encode(samples[:, k])).float(), target)
    rows = torch.cat([x.unsqueeze(1), target.unsqueeze(1), samples], 1).cpu()
    output = Path(str(output))
    output.parent.mkdir(parents=True, exist_ok=True)
    save_image_grid(rows.flatten(0, 1), output, nrow=2 + samples_per_condition)
    return rows, {key: float(metric.compute()) for key, metric in agreement.items()}
