"""Reversible back-propagation through invertible layers (Gomez, Ren, Urtasun & Grosse, "The reversible residual
network: backpropagation without storing activations", NeurIPS 2017, Alg. 1) — the feature the i-RevNet reference
code lacks (DESIGN §14).

The forward pass runs the layers without a graph and keeps only the last output. The backward pass walks the
layers from the last to the first: it rebuilds each layer's input from its output and back-propagates through
that one layer. For a coupling block ``(x₁, x₂) ↦ (y₁, y₂) = (S x₂, S x₁ + F(x₂))`` (``S`` a permutation,
:class:`~gennet.models.irevnet.CouplingBlock`):

    x₂ = S⁻¹ y₁,   z = F(x₂)  (with its graph),   x₁ = S⁻¹ (y₂ − z)
    ∂L/∂x₁ = S⁻¹ ∂L/∂y₂,   ∂L/∂x₂ = S⁻¹ ∂L/∂y₁ + (∂F/∂x₂)ᵀ ∂L/∂y₂,   ∂L/∂θ = (∂F/∂θ)ᵀ ∂L/∂y₂

(``S`` is orthogonal, so ``Sᵀ = S⁻¹``): one evaluation of ``F`` more than the stored backward, and the memory of
one block's activations instead of all of them. For an :class:`~gennet.models.irevnet.InjectivePad` the input is
the output without the zero channels, and so is the gradient; the block after it gets its rebuilt input projected
onto the padding's range (the appended channels set back to exactly 0).

The gradients equal the stored version's up to the rounding of the rebuilt inputs (tests: 1e-5 relative in
float32). During the recomputation each BatchNorm normalizes with the same batch statistics as in the forward
pass but its running statistics are not updated a second time; dropout draws the same masks (the random state
of each layer is recorded in the forward pass, as ``torch.utils.checkpoint`` does); autocast is re-entered as it
was in the forward pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn

__all__ = ["reversible_sequence", "ReversibleSequenceFunction"]


@contextlib.contextmanager
def _running_statistics_frozen(module: nn.Module) -> Iterator[None]:
    """BatchNorm layers of ``module`` normalize with batch statistics (train mode) without updating their running ones."""
    saved = []
    for bn in module.modules():
        if isinstance(bn, nn.modules.batchnorm._BatchNorm) and bn.training and bn.track_running_stats:
            saved.append((bn, bn.momentum, bn.num_batches_tracked.clone()))
            bn.momentum = 0.0  # running ← (1 − 0)·running + 0·batch: unchanged
    try:
        yield
    finally:
        for bn, momentum, count in saved:
            bn.momentum = momentum
            bn.num_batches_tracked.copy_(count)


def _has_dropout(layer: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 and m.training for m in layer.modules())


def _rng_state(device: torch.device):
    return (torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None)


@contextlib.contextmanager
def _replayed_rng(state, device: torch.device) -> Iterator[None]:
    if state is None:
        yield
        return
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state(state[1], device)
        yield


def _coupling_step(block, y: Tensor, grad: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor, list[Tensor | None]]:
    """The input of a coupling block from its output ``y``, and the gradients w.r.t. the input and ``F``'s parameters.

    ``mask`` ``(1, 2c, 1, 1)``: the block's input is known to vanish where the mask is 0 (it follows an injective
    padding); the rebuilt input is projected there, so that rounding does not turn the appended zeros into noise
    that ``F``'s BatchNorms would amplify."""
    shuffle, params = block.shuffle, [p for p in block.residual.parameters() if p.requires_grad]
    y1, y2 = y.chunk(2, 1)
    g1, g2 = grad.chunk(2, 1)
    mask1, mask2 = mask.chunk(2, 1) if mask is not None else (1, 1)
    x2 = (shuffle.inverse(y1) * mask2).detach().requires_grad_(True)
    with torch.enable_grad(), _running_statistics_frozen(block.residual):
        z = block.residual(x2)
    x1 = shuffle.inverse(y2 - z.detach()) * mask1
    found = torch.autograd.grad(z, [x2, *params], g2, allow_unused=True)
    dx2 = shuffle.inverse(g1) + (found[0] if found[0] is not None else 0)
    x = torch.cat([x1, x2.detach()], 1)
    return x, torch.cat([shuffle.inverse(g2), dx2], 1), list(found[1:])


def _step(layer, previous, y: Tensor, grad: Tensor):
    """One layer backward; ``previous``: the layer before it in the forward order (or ``None``)."""
    from .irevnet import CouplingBlock, InjectivePad

    if isinstance(layer, CouplingBlock):
        return _coupling_step(layer, y, grad, previous.range_mask(y) if isinstance(previous, InjectivePad) else None)
    if isinstance(layer, InjectivePad):
        return layer.inverse(y), layer.inverse(grad), []
    raise TypeError(f"no reversible step for {type(layer).__name__}")


def _parameters(layer: nn.Module) -> list[nn.Parameter]:
    """The parameters whose gradients :func:`_step` returns, in its order."""
    return [p for p in layer.residual.parameters() if p.requires_grad] if hasattr(layer, "residual") else []


class ReversibleSequenceFunction(torch.autograd.Function):
    """``apply(z, layers, *parameters)``: the layers applied in turn, differentiated by rebuilding their inputs.

    Saves only the output for the backward pass (``ctx.save_for_backward``) and, for layers with dropout, their
    random state. ``parameters`` must be the layers' trainable parameters in the order of :func:`_parameters`.
    """

    @staticmethod
    def forward(ctx, z: Tensor, layers: Sequence[nn.Module], *parameters: Tensor) -> Tensor:
        device = z.device
        ctx.layers, ctx.device = layers, device
        ctx.autocast = (torch.is_autocast_enabled(device.type), torch.get_autocast_dtype(device.type))
        ctx.rng = []
        with torch.no_grad():
            for layer in layers:
                ctx.rng.append(_rng_state(device) if _has_dropout(layer) else None)
                z = layer(z)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx, grad: Tensor):
        (y,) = ctx.saved_tensors
        enabled, dtype = ctx.autocast
        grads: list[Tensor | None] = []
        y = y.detach()
        with torch.autocast(ctx.device.type, dtype=dtype, enabled=enabled):
            for i in reversed(range(len(ctx.layers))):
                with _replayed_rng(ctx.rng[i], ctx.device):
                    y, grad, found = _step(ctx.layers[i], ctx.layers[i - 1] if i > 0 else None, y, grad)
                grads = found + grads
        return (grad, None, *grads)


def reversible_sequence(layers: Sequence[nn.Module], z: Tensor) -> Tensor:
    """``layers`` (coupling blocks and injective paddings) applied to ``z`` in turn, with reversible
    back-propagation: nothing inside the layers is stored for the backward pass, only their final output.

    Same values as applying the layers; gradients w.r.t. ``z`` and the layers' parameters equal the stored
    version's up to rounding. Use in train mode with gradients enabled (eval or ``no_grad`` needs no backward).
    """
    layers = list(layers)
    parameters = [p for layer in layers for p in _parameters(layer)]
    return ReversibleSequenceFunction.apply(z, layers, *parameters)
