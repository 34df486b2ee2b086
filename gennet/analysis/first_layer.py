"""The scattering front end of a classifier and the first learned layer ``W₁`` behind it (DESIGN §11)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..transforms.scattering import Scattering2D
from .scattering_layout import ScatteringLayout, scattering_layout

__all__ = ["FirstLayer", "first_layer", "replaced_weight"]


@dataclass(frozen=True)
class FirstLayer:
    """``W₁`` of a network with a scattering front end.

    Attributes:
        name: the module path of ``W₁`` in the network (e.g. ``"stem.0"``).
        module: the ``nn.Conv2d`` or ``nn.Linear`` itself.
        layout: which scattering coefficient each of its input channels is.
    """

    name: str
    module: nn.Module
    layout: ScatteringLayout


def first_layer(network: nn.Module, example: Tensor) -> FirstLayer | None:
    """The first ``nn.Conv2d`` / ``nn.Linear`` registered after the network's ``Scattering2D``, or ``None`` when the
    network has no scattering front end.

    In every gennet classifier modules are registered in the order they are applied, so this is the first
    learned linear layer on the scattering channels: the 3×3 convolution of the hybrid, the first 1×1
    convolution of the Shared Local Encoder, the projection of ``sparse_scatnet``, the first layer of
    ``scatnet``'s head (a linear layer on the flattened ``(C·K, h, w)`` maps). ``example`` ``(1, C, H, W)`` is
    run once to read the number of colors ``C`` from the scattering's output.

    Raises:
        ValueError: a scattering without a learned layer behind it, or a layer whose input does not
            split into the ``C·K`` scattering channels.
    """
    modules = list(network.named_modules())
    position = next((i for i, (_, m) in enumerate(modules) if isinstance(m, Scattering2D)), None)
    if position is None:
        return None
    scattering = modules[position][1]
    shapes = []
    handle = scattering.register_forward_hook(lambda _m, _i, out: shapes.append(out.shape))
    try:
        with torch.no_grad():
            network(example)
    finally:
        handle.remove()
    colors = shapes[0][-4] if len(shapes[0]) >= 5 else 1
    layout = scattering_layout(scattering, colors)
    for name, module in modules[position + 1 :]:
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            inputs = module.in_channels if isinstance(module, nn.Conv2d) else module.in_features
            if inputs % layout.num_channels:
                raise ValueError(f"{name} takes {inputs} inputs, not a multiple of the {layout.num_channels} scattering channels")
            return FirstLayer(name, module, layout)
    raise ValueError("no learned layer after the scattering front end")


@contextmanager
def replaced_weight(module: nn.Module, weight: Tensor) -> Iterator[None]:
    """Within the block, ``module.weight`` holds ``weight`` (same shape); the original is restored after."""
    original = module.weight.detach().clone()
    with torch.no_grad():
        module.weight.copy_(weight.reshape(original.shape))
    try:
        yield
    finally:
        with torch.no_grad():
            module.weight.copy_(original)
