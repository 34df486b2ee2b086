"""Angular Fourier analysis of the first learned layer on scattering channels (DESIGN §11; seed 002).

A layer ``W₁`` acting on ``S_J x`` recombines, for each output ``k``, coefficients indexed by the scattering
variables. Along the orientations its weights ``w_{(j₁, θ₁), k}`` (order 1) and ``w_{(j₁, j₂, θ₁, θ₂), k}``
(order 2) are signals on the ``L`` (or ``L × L``) rotations by ``π/L``; their discrete Fourier transforms

    ŵ_{(j₁, ω_θ₁), k} = F^{θ₁}(w_{(j₁, ·), k})(ω_θ₁),    ŵ_{(j₁, j₂, ω_θ₁, ω_θ₂), k} = F^{(θ₁, θ₂)}(…)

(orthonormal DFTs, so energies are preserved) give the angular spectra

    Ω₁(ω_θ₁) = Σ_{k, j₁} |ŵ_{(j₁, ω_θ₁), k}|²,    Ω₂(ω_θ₁, ω_θ₂) = Σ_{k, j₁, j₂} |ŵ_{(j₁, j₂, ω_θ₁, ω_θ₂), k}|²,

summed also over colors, phases and the spatial taps of the layer. Energy at ``ω = 0`` is the part of ``W₁``
invariant to rotations of the scattering variables. Oyallon, Belilovsky & Zagoruyko (ICCV 2017, §4; seed 002):
on ImageNet the energy of the Shared Local Encoder's ``W₁`` concentrates on few angular frequencies, and
keeping the largest 20% of the Fourier coefficients costs ~2% accuracy.

``W₁`` is any weight ``(out, C·K, *taps)`` whose second axis runs over the scattering channels (a convolution,
or a linear layer on flattened ``(C·K, h, w)`` maps, reshaped so). Order-0 weights have no angle; they are
reported apart and never thresholded.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .scattering_layout import ScatteringLayout

__all__ = ["AngularSpectrum", "angular_spectrum", "threshold_angular"]


@dataclass(frozen=True)
class AngularSpectrum:
    """Angular energies of ``W₁`` (float64). Frequencies are DFT indices ``0 … L−1`` (``ω`` and ``ω − L`` alike).

    Attributes:
        omega1: ``(L,)``: ``Ω₁(ω_θ₁)``.
        omega1_per_scale: ``(J, L)``: the same, for each ``j₁`` (its sum over ``j₁`` is ``omega1``).
        omega2: ``(L, L)``: ``Ω₂(ω_θ₁, ω_θ₂)`` (zeros for ``max_order = 1``).
        energy: ``{"order0", "order1", "order2"}``: ``Σ w²`` over the channels of each order.
    """

    omega1: torch.Tensor
    omega1_per_scale: torch.Tensor
    omega2: torch.Tensor
    energy: dict[str, float]


def _taps(weight: torch.Tensor, layout: ScatteringLayout) -> torch.Tensor:
    """``weight`` as ``(out, C·K, T)`` float64, ``T`` spatial taps per channel (kernel or flattened map)."""
    per_output = weight[0].numel() if weight.ndim >= 2 else 0
    if weight.ndim < 2 or per_output % layout.num_channels or (weight.ndim > 2 and weight.shape[1] != layout.num_channels):
        raise ValueError(f"weight {tuple(weight.shape)} does not act on the {layout.num_channels} scattering channels")
    return weight.detach().to(torch.float64).reshape(weight.shape[0], layout.num_channels, -1)


def _fourier(w: torch.Tensor, layout: ScatteringLayout) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ŵ₁, ŵ₂)``: ``(out, C, J, L, A, T)`` along θ₁ and ``(out, C, P, L, L, T)`` along (θ₁, θ₂), orthonormal."""
    w1 = torch.fft.fft(w[:, layout.order1], dim=3, norm="ortho")
    w2 = torch.fft.fft2(w[:, layout.order2], dim=(3, 4), norm="ortho")
    return w1, w2


def angular_spectrum(weight: torch.Tensor, layout: ScatteringLayout) -> AngularSpectrum:
    """``Ω₁``, ``Ω₂`` of a first layer ``weight`` ``(out, C·K, *taps)`` on the channels described by ``layout``.

    Raises:
        ValueError: ``weight``'s second axis (times its taps) does not match ``layout.num_channels``.
    """
    w = _taps(weight, layout)
    w1, w2 = _fourier(w, layout)
    per_scale = w1.abs().square().sum((0, 1, 4, 5))  # (J, L)
    omega2 = w2.abs().square().sum((0, 1, 2, 5)) if layout.order2.shape[1] else torch.zeros(layout.L, layout.L, dtype=torch.float64)
    energy = {
        "order0": float(w[:, layout.order0].square().sum()),
        "order1": float(w[:, layout.order1].square().sum()),
        "order2": float(w[:, layout.order2].square().sum()),
    }
    return AngularSpectrum(per_scale.sum(0), per_scale, omega2, energy)


def _symmetric(magnitude: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """``(|ŵ(ω)| + |ŵ(−ω)|) / 2`` along ``dims``: equal on each conjugate pair, so pairs are kept or dropped together."""
    flipped = magnitude
    for dim in dims:
        n = magnitude.shape[dim]
        flipped = flipped.index_select(dim, (-torch.arange(n)) % n)
    return (magnitude + flipped) / 2


def threshold_angular(weight: torch.Tensor, layout: ScatteringLayout, keep: float) -> tuple[torch.Tensor, float]:
    """``W₁`` rebuilt from its largest angular Fourier coefficients: ``(weight', fraction kept)``.

    All order-1 (along θ₁) and order-2 (along (θ₁, θ₂)) coefficients of every output, color, phase, scale and
    tap compete together; the ``round(keep · n)`` largest in modulus are kept (``n``: their number, equal to the
    number of angular weights), the others set to 0, and the weights rebuilt by the inverse DFT. A coefficient
    and its conjugate ``ŵ(−ω)`` have the same modulus and are kept or dropped together (ties at the threshold
    are all kept, so the fraction kept can exceed ``keep`` by a few coefficients); the rebuilt weights are
    real. Order-0 weights are unchanged. Returns a tensor of ``weight``'s shape, dtype and device.

    Raises:
        ValueError: ``keep`` outside [0, 1], or a ``weight`` that does not match ``layout``.
    """
    if not 0 <= keep <= 1:
        raise ValueError(f"keep must be in [0, 1], got {keep}")
    w = _taps(weight, layout)
    w1, w2 = _fourier(w, layout)
    m1, m2 = _symmetric(w1.abs(), (3,)), _symmetric(w2.abs(), (3, 4))
    magnitudes = torch.cat([m1.flatten(), m2.flatten()])
    n = magnitudes.numel()
    count = round(keep * n)
    if count >= n:
        return weight.clone(), 1.0
    threshold = magnitudes.topk(count).values[-1] if count else torch.tensor(float("inf"), dtype=torch.float64)
    w1, w2 = w1 * (m1 >= threshold), w2 * (m2 >= threshold)
    out = w.clone()
    out[:, layout.order1] = torch.fft.ifft(w1, dim=3, norm="ortho").real
    out[:, layout.order2] = torch.fft.ifft2(w2, dim=(3, 4), norm="ortho").real
    kept = float((m1 >= threshold).sum() + (m2 >= threshold).sum()) / n
    return out.reshape(weight.shape).to(weight), kept
