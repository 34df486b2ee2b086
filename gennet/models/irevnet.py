"""``irevnet``: the i-RevNet, a classifier whose representation keeps every bit of the image (DESIGN §14).

Jacobsen, Smeulders & Oyallon, "i-RevNet: deep invertible networks", ICLR 2018 (seeds 000 and 004: "one can
easily build invertible CNNs"). The image goes through invertible layers only, up to the final representation
``Φ(x)``; a non-invertible head then classifies it:

    x ─ψ (init_ds)→ ─[pad]→ coupling blocks … ─[pad]→ coupling blocks … ─→ Φ(x) ─BN─ReLU─avg pool─linear→ logits

- ``ψ`` (:class:`SpaceToDepth`): space-to-depth, ``(B, C, H, W) → (B, C·b², H/b, W/b)``, a permutation of the
  values (torch's ``pixel_unshuffle``), so ``‖ψx‖ = ‖x‖`` and ``ψ⁻¹`` is ``pixel_shuffle``.
- the coupling block (:class:`CouplingBlock`, paper eq. 1–2) on the two halves ``(x₁, x₂)`` of the channels:
  ``(x₁, x₂) ↦ (S x₂, S x₁ + F(x₂))``, ``S = ψ`` on the strided blocks (``F`` strided too), the identity
  elsewhere; exact inverse ``x₂ = S⁻¹y₁``, ``x₁ = S⁻¹(y₂ − F(x₂))`` whatever ``F`` is.
- the injective padding (:class:`InjectivePad`): zero channels appended to each half where a stage is wider
  than what it receives (the paper's i-RevNet (a)); the inverse drops them. Without it (i-RevNet (b),
  bijective) ``Φ(x)`` has exactly as many values as ``x``.

``F`` is the paper's bottleneck: ``[BN, ReLU,] conv3×3 (stride) → BN → ReLU → conv3×3 → dropout → BN → ReLU →
conv3×3`` (no leading BN/ReLU in the very first block), with its inner width ``bottleneck`` chosen apart from
the state's width (the reference code ties it to ``widths // 4``, which starves a bijective network on
one-channel digits). Reversible back-propagation (Gomez et al. 2017) is :mod:`gennet.models.reversible`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .reversible import reversible_sequence

__all__ = ["SpaceToDepth", "InjectivePad", "CouplingBlock", "InvertibleSequence", "IRevNet"]


class SpaceToDepth(nn.Module):
    """``ψ``: ``(B, C, H, W) → (B, C·b², H/b, W/b)`` (``pixel_unshuffle``; ``b = block``), a permutation of the
    values; :meth:`inverse` is ``pixel_shuffle``. ``block = 1``: the identity.

    Raises:
        ValueError: ``block`` < 1; (forward) ``H`` or ``W`` not divisible by ``block``; (inverse) ``C`` not
            divisible by ``b²``.
    """

    def __init__(self, block: int = 2) -> None:
        super().__init__()
        if int(block) < 1:
            raise ValueError(f"block must be >= 1, got {block}")
        self.block = int(block)

    def forward(self, x: Tensor) -> Tensor:
        if self.block == 1:
            return x
        if x.shape[-1] % self.block or x.shape[-2] % self.block:
            raise ValueError(f"ψ with block {self.block} needs H and W divisible by {self.block}, got {tuple(x.shape)}")
        return F.pixel_unshuffle(x, self.block)

    def inverse(self, y: Tensor) -> Tensor:
        if self.block == 1:
            return y
        if y.shape[-3] % self.block**2:
            raise ValueError(f"ψ⁻¹ with block {self.block} needs channels divisible by {self.block ** 2}, got {tuple(y.shape)}")
        return F.pixel_shuffle(y, self.block)


class InjectivePad(nn.Module):
    """Zero channels appended to each half: ``(B, c, h, w) → (B, 2·width, h, w)`` (i-RevNet (a)).

    The first half receives the first ``⌊c/2⌋`` channels, the second the other ``⌈c/2⌉``, each followed by zeros up
    to ``width``. An odd ``c`` is allowed: one gray channel goes to the second half, the one the next block's ``F``
    reads (an all-zero input would make that ``F`` a constant). :meth:`inverse` keeps the channels that were given
    and drops the zeros: ``inverse(forward(z)) = z`` exactly; on a point outside the range (nonzero padded
    channels) it is the orthogonal projection onto it followed by the inverse.
    """

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.in_channels, self.width = int(in_channels), int(width)
        self.first = self.in_channels // 2
        if self.in_channels - self.first > self.width:
            raise ValueError(f"cannot pad {in_channels} channels into halves of {width}")

    def forward(self, z: Tensor) -> Tensor:
        a, b = z[:, : self.first], z[:, self.first :]
        zeros = z.new_zeros(z.shape[0], self.width - a.shape[1], *z.shape[2:])  # the larger of the two paddings
        return torch.cat([a, zeros, b, zeros[:, : self.width - b.shape[1]]], 1)

    def inverse(self, y: Tensor) -> Tensor:
        second = self.in_channels - self.first
        return torch.cat([y[:, : self.first], y[:, self.width : self.width + second]], 1)

    def range_mask(self, y: Tensor) -> Tensor:
        """``(1, 2·width, 1, 1)`` in ``y``'s dtype: 1 on the channels that carry the input, 0 on the appended zeros
        (``y · mask`` is the orthogonal projection onto the range)."""
        mask = torch.zeros(1, 2 * self.width, 1, 1, dtype=y.dtype, device=y.device)
        mask[:, : self.first] = 1
        mask[:, self.width : self.width + self.in_channels - self.first] = 1
        return mask


def bottleneck(channels: int, hidden: int, width: int, stride: int, first: bool, dropout: float, affine: bool) -> nn.Sequential:
    """The residual function ``F`` of a coupling block: ``(B, channels, h, w) → (B, width, h/stride, w/stride)``."""
    layers: list[nn.Module] = [] if first else [nn.BatchNorm2d(channels, affine=affine), nn.ReLU(inplace=True)]
    layers += [nn.Conv2d(channels, hidden, 3, stride=stride, padding=1, bias=False),
               nn.BatchNorm2d(hidden, affine=affine), nn.ReLU(inplace=True),
               nn.Conv2d(hidden, hidden, 3, padding=1, bias=False)]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers += [nn.BatchNorm2d(hidden, affine=affine), nn.ReLU(inplace=True), nn.Conv2d(hidden, width, 3, padding=1, bias=False)]
    return nn.Sequential(*layers)


class CouplingBlock(nn.Module):
    """``(x₁, x₂) ↦ (S x₂, S x₁ + F(x₂))`` on the halves of ``(B, 2c, h, w)``; ``S = ψ`` if ``stride = 2``, else the identity.

    Output ``(B, 2·c·stride², h/stride, w/stride)``. ``F`` (attribute ``residual``): :func:`bottleneck` from ``c`` to
    ``c·stride²`` channels through ``hidden``. :meth:`inverse` is exact for any ``F`` (paper eq. 2).

    Raises:
        ValueError: ``stride`` not 1 or 2, a width < 1.
    """

    def __init__(self, channels: int, hidden: int, stride: int = 1, first: bool = False, dropout: float = 0.0, affine: bool = True) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if min(channels, hidden) < 1:
            raise ValueError(f"channels and hidden must be >= 1, got {channels}, {hidden}")
        self.channels, self.stride = int(channels), int(stride)
        self.shuffle = SpaceToDepth(stride)
        self.residual = bottleneck(self.channels, int(hidden), self.channels * stride**2, stride, first, dropout, affine)

    def forward(self, z: Tensor) -> Tensor:
        x1, x2 = z.chunk(2, 1)
        return torch.cat([self.shuffle(x2), self.shuffle(x1) + self.residual(x2)], 1)

    def inverse(self, z: Tensor) -> Tensor:
        y1, y2 = z.chunk(2, 1)
        x2 = self.shuffle.inverse(y1)
        return torch.cat([self.shuffle.inverse(y2 - self.residual(x2)), x2], 1)


class InvertibleSequence(nn.Sequential):
    """Invertible layers applied in turn; :meth:`inverse` applies their inverses in the reverse order."""

    def inverse(self, z: Tensor) -> Tensor:
        for layer in reversed(self):
            z = layer.inverse(z)
        return z


class IRevNet(nn.Module):
    """i-RevNet. Images ``(B, C, H, W)`` float → logits ``(B, num_classes)``; :meth:`features` ``Φ(x)``, :meth:`inverse`.

    Children (also the stages of :mod:`gennet.analysis`, :meth:`stages`): ``init`` (``ψ`` with block ``init_ds``),
    ``stage1`` … ``stageN`` (:class:`InvertibleSequence`: an :class:`InjectivePad` where the stage is wider than its
    input, then ``blocks[i]`` :class:`CouplingBlock`; the first of them has ``strides[i]``), ``pool`` (BatchNorm →
    ReLU → global average pool → flatten: the non-invertible head) and ``fc`` (linear).

    State widths: after ``ψ`` the state has ``c₀ = C·init_ds²`` channels, two halves; stage ``i`` ends with halves of
    ``widths[i]`` channels at ``1/(init_ds·Π strides)`` of the size. A stride-2 stage needs halves of ``widths[i]/4``
    before its first block; a stage that receives fewer is padded (injective, i-RevNet (a)). With no padding
    anywhere the network is bijective (i-RevNet (b)): ``Φ(x)`` has exactly ``C·H·W`` values (:attr:`injective`).

    Defaults: the paper's CIFAR i-RevNet (a) (``blocks=(18, 18, 18)``, ``strides=(1, 2, 2)``,
    ``widths=(16, 64, 256)``, ``init_ds=0``; ~94.5% on CIFAR-10 in the reference code). ImageNet i-RevNet (b):
    ``blocks=(6, 16, 72, 6)``, ``strides=(2, 2, 2, 2)``, ``widths=(24, 96, 384, 1536)``, ``init_ds=2`` (Φ: 3072×7×7
    = 3·224²).

    Args:
        shape: ``(H, W)`` in pixels. channels: ``C``. num_classes: outputs.
        blocks: coupling blocks per stage. strides: 1 or 2 per stage (the stage's first block).
        widths: channels of each half at the end of each stage.
        init_ds: block size of the initial ``ψ`` (0 or 1: none; the reference's ``init_ds``).
        bottleneck: inner width of ``F`` per stage (``None``: ``widths // 4``, the reference's multiplier).
        dropout: inside ``F`` (the reference: 0.1 on CIFAR). affine: BatchNorm with learned affine parameters.
        reversible: train with reversible back-propagation (recompute each block's input from its output in the
            backward pass instead of storing activations; :func:`~gennet.models.reversible.reversible_sequence`),
            in train mode with gradients enabled.

    Raises:
        ValueError: lists empty or of different lengths, a stride not 1/2, sizes not divisible by the total
            downsampling, a stage narrower than what it receives (or a stride-2 width not divisible by 4), an odd
            number of channels after ``ψ`` in a bijective network.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        channels: int,
        num_classes: int,
        blocks: Sequence[int] = (18, 18, 18),
        strides: Sequence[int] = (1, 2, 2),
        widths: Sequence[int] = (16, 64, 256),
        init_ds: int = 0,
        bottleneck: Sequence[int] | None = None,
        dropout: float = 0.0,
        affine: bool = True,
        reversible: bool = False,
    ) -> None:
        super().__init__()
        blocks, strides, widths = [int(b) for b in blocks], [int(s) for s in strides], [int(w) for w in widths]
        hidden = [max(w // 4, 1) for w in widths] if bottleneck is None else [int(h) for h in bottleneck]
        if not blocks or not len(blocks) == len(strides) == len(widths) == len(hidden) or min(blocks + widths + hidden) < 1:
            raise ValueError(f"blocks, strides, widths (and bottleneck) must be non-empty lists of the same length of "
                             f"integers >= 1, got {blocks}, {strides}, {widths}, {hidden}")
        if any(s not in (1, 2) for s in strides):
            raise ValueError(f"strides must be 1 or 2, got {strides}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        block = max(int(init_ds), 1)
        factor = block * 2 ** strides.count(2)
        H, W = int(shape[0]), int(shape[1])
        if H % factor or W % factor:
            raise ValueError(f"shape {H}x{W} must be divisible by init_ds x 2^(strided stages) = {factor}")
        self.input_shape = (int(channels), H, W)
        self.reversible = bool(reversible)
        self.init = SpaceToDepth(block)
        state, first = int(channels) * block**2, True  # channels of the whole state (both halves)
        self.pads: list[int] = []
        for i, (count, stride, width, inner) in enumerate(zip(blocks, strides, widths, hidden)):
            needed = width // stride**2
            if needed * stride**2 != width or 2 * needed < state:
                raise ValueError(f"widths[{i}] = {width} cannot follow halves of {state / 2:g} channels at stride {stride} "
                                 f"(need widths[{i}] >= {stride**2} x {state / 2:g}{', divisible by 4' if stride == 2 else ''})")
            layers: list[nn.Module] = []
            if 2 * needed > state or state % 2:
                layers.append(InjectivePad(state, needed))
            self.pads.append(2 * needed - state)
            for j in range(count):
                layers.append(CouplingBlock(needed if j == 0 else width, inner, stride if j == 0 else 1, first, dropout, affine))
                first = False
            self.add_module(f"stage{i + 1}", InvertibleSequence(*layers))
            state = 2 * width
        self.feature_shape = (state, H // factor, W // factor)
        self.pool = nn.Sequential(nn.BatchNorm2d(state), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(state, int(num_classes))

    @property
    def injective(self) -> bool:
        """``True`` for i-RevNet (a) (zero channels appended somewhere: ``Φ(x)`` has more values than ``x``)."""
        return any(pad > 0 for pad in self.pads)

    def invertible_stages(self) -> Iterator[tuple[str, InvertibleSequence]]:
        """``("stage1", …)`` … in order: the invertible part after ``ψ``."""
        return ((name, module) for name, module in self.named_children() if name.startswith("stage"))

    def stages(self) -> list[tuple[str, nn.Module]]:
        """``init``, ``stage1`` … ``stageN``, ``pool``, ``fc``, applied in turn (each maps the previous output)."""
        return [("init", self.init), *self.invertible_stages(), ("pool", self.pool), ("fc", self.fc)]

    def _check(self, x: Tensor, expected: tuple[int, ...], what: str) -> None:
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"{what} must be (B, {', '.join(map(str, expected))}), got {tuple(x.shape)}")

    def features(self, x: Tensor) -> Tensor:
        """``Φ(x)``: images ``(B, C, H, W)`` → the final representation ``(B, *feature_shape)``, before the head.

        Raises:
            ValueError: ``x`` not of the shape the network was built for.
        """
        self._check(x, self.input_shape, "images")
        layers = [layer for _, stage in self.invertible_stages() for layer in stage]
        z = self.init(x)
        if self.reversible and self.training and torch.is_grad_enabled():
            return reversible_sequence(layers, z)
        for layer in layers:
            z = layer(z)
        return z

    def head(self, z: Tensor) -> Tensor:
        """The non-invertible head: ``Φ(x)`` ``(B, *feature_shape)`` → logits ``(B, num_classes)``."""
        return self.fc(self.pool(z))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    def inverse(self, z: Tensor) -> Tensor:
        """``Φ⁻¹``: representations ``(B, *feature_shape)`` → images ``(B, C, H, W)``; ``Φ⁻¹(Φ(x)) = x`` up to
        rounding. In train mode BatchNorm uses the batch's statistics, so invert in the mode of the forward pass
        (eval mode for a fixed ``Φ``).

        Raises:
            ValueError: ``z`` not of shape ``(B, *feature_shape)``.
        """
        self._check(z, self.feature_shape, "features given to inverse")
        for _, stage in reversed(list(self.invertible_stages())):
            z = stage.inverse(z)
        return self.init.inverse(z)
