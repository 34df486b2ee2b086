"""Which scattering coefficient each channel of ``S_J x`` is: ``(color, order, j₁, θ₁, a, j₂, θ₂)`` (DESIGN §7, §11).

The angular analysis of a layer acting on scattering channels needs the orientations of every channel as
array axes. :class:`~gennet.transforms.Scattering2D` writes its ``K`` channels per color in kymatio's order,
and the hybrids flatten colors first (channel ``c·K + k``):

- order 0: ``k = 0`` (``x ⋆ φ_J``);
- order 1: ``k = 1 + ((j₁·L + θ₁)·A + a)`` (``A = 1`` and ``a = 0`` for the modulus scattering);
- order 2 (``j₁ < j₂``): ``k = 1 + A·J·L + Σ_{j < j₁} L²·(J−1−j) + (θ₁·(J−1−j₁) + (j₂−j₁−1))·L + θ₂``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..transforms.scattering import Scattering2D

__all__ = ["ScatteringLayout", "scattering_layout"]


@dataclass(frozen=True)
class ScatteringLayout:
    """Channel indices of ``S_J x`` arranged along the scattering variables (int64 tensors of channel numbers).

    Attributes:
        order0: ``(C,)``: the low-pass channel of each color.
        order1: ``(C, J, L, A)``: ``|x ⋆ ψ_{j₁,θ₁}| ⋆ φ_J`` (``A = 1``) or the phase channels ``a``.
        order2: ``(C, P, L, L)`` for the ``P = J(J−1)/2`` pairs ``j₁ < j₂`` (listed in ``pairs``), axes
            ``(θ₁, θ₂)``; ``(C, 0, L, L)`` for ``max_order = 1``.
        pairs: ``[(j₁, j₂), …]`` in the order of ``order2``'s second axis.
        num_channels: ``C·K``, all channels.
    """

    order0: torch.Tensor
    order1: torch.Tensor
    order2: torch.Tensor
    pairs: tuple[tuple[int, int], ...]
    num_channels: int

    @property
    def L(self) -> int:
        return self.order1.shape[2]

    @property
    def J(self) -> int:
        return self.order1.shape[1]

    def describe(self, channel: int) -> dict[str, int]:
        """``{"color", "order", "j1", "theta1", "phase", "j2", "theta2"}`` of one channel (absent keys do not apply).

        Raises:
            ValueError: ``channel`` outside ``[0, num_channels)``.
        """
        if not 0 <= channel < self.num_channels:
            raise ValueError(f"channel must be in [0, {self.num_channels}), got {channel}")
        for color, index in enumerate(self.order0.tolist()):
            if index == channel:
                return {"color": color, "order": 0}
        hit = (self.order1 == channel).nonzero()
        if len(hit):
            color, j1, theta1, phase = hit[0].tolist()
            return {"color": color, "order": 1, "j1": j1, "theta1": theta1, "phase": phase}
        color, pair, theta1, theta2 = (self.order2 == channel).nonzero()[0].tolist()
        j1, j2 = self.pairs[pair]
        return {"color": color, "order": 2, "j1": j1, "theta1": theta1, "j2": j2, "theta2": theta2}


def scattering_layout(scattering: Scattering2D, colors: int = 1) -> ScatteringLayout:
    """The :class:`ScatteringLayout` of ``scattering``'s output for ``colors`` input channels flattened color-major.

    Raises:
        ValueError: ``colors < 1``.
    """
    if colors < 1:
        raise ValueError(f"colors must be >= 1, got {colors}")
    J, L, A = scattering.J, scattering.L, scattering.phases or 1
    K = scattering.output_shape[0]
    pairs = tuple((j1, j2) for j1 in range(J) for j2 in range(j1 + 1, J)) if scattering.max_order == 2 else ()
    offset = torch.arange(colors)[:, None] * K  # (C, 1)
    order1 = 1 + torch.arange(J * L * A).reshape(1, J, L, A) + offset[..., None, None]
    order2 = torch.empty(colors, len(pairs), L, L, dtype=torch.int64)
    start = 1 + A * J * L
    for j1 in range(J):
        later = J - 1 - j1  # the j2 > j1
        for theta1 in range(L):
            for k in range(later):
                first = start + (theta1 * later + k) * L
                order2[:, pairs.index((j1, j1 + 1 + k)), theta1] = first + torch.arange(L) + offset
        start += L * L * later
    return ScatteringLayout(offset[:, 0].clone(), order1, order2, pairs, colors * K)
