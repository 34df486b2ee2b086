"""Scattering transform ``S_J`` (DESIGN §7), with kymatio's layout and values, and phase scattering.

    S_J x = ( x ⋆ φ_J ,  |x ⋆ ψ_{j1,θ1}| ⋆ φ_J ,  ||x ⋆ ψ_{j1,θ1}| ⋆ ψ_{j2,θ2}| ⋆ φ_J )   (j1 < j2),
    sampled on the 2^J grid.

Source: S. Mallat, "Group invariant scattering", CPAM 2012; J. Bruna & S. Mallat, "Invariant
scattering convolution networks", TPAMI 2013; kymatio 0.3.0 (Andreux et al., JMLR 2020) for the
filters, padding and output layout reproduced here; phase scattering: J. Zarka, L. Thiry, T. Angles,
S. Mallat, "Deep network classification by scattering and dictionary learning", ICLR 2020.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .filters import morlet_filter_bank, periodize_fourier
from .rectified import _alias_mean

__all__ = ["Scattering2D"]


def _padded_size(size: int, J: int) -> int:
    """kymatio's padded size: the next multiple of ``2^J`` after ``size + 2^J`` (at least ``2^J`` of margin)."""
    return ((size + 2**J) // 2**J + 1) * 2**J


def _reflect_pad(x: torch.Tensor, pads: tuple[int, int, int, int], size: tuple[int, int]) -> torch.Tensor:
    """Reflection padding ``(top, bottom, left, right)`` as kymatio's torch backend does it.

    Reflection cannot pad a side by the full signal length; kymatio then pads one less and repeats
    the second and second-to-last rows (columns), which this reproduces.
    """
    top, bottom, left, right = pads
    full_rows, full_cols = top == size[0], left == size[1]
    if full_rows:
        top, bottom = top - 1, bottom - 1
    if full_cols:
        left, right = left - 1, right - 1
    x = F.pad(x, (left, right, top, bottom), mode="reflect")
    if full_rows:
        x = torch.cat([x[..., 1:2, :], x, x[..., -2:-1, :]], dim=-2)
    if full_cols:
        x = torch.cat([x[..., :, 1:2], x, x[..., :, -2:-1]], dim=-1)
    return x


class Scattering2D(nn.Module):
    """2-D scattering transform of order 1 or 2, identical in layout and values to kymatio's ``Scattering2D``.

    Input ``(*batch, M, N)`` (e.g. ``(B, C, M, N)``), float32 or float64. The image is reflection-padded
    to kymatio's size (``((M + 2^J) // 2^J + 1)·2^J``), transformed with periodic convolutions by the
    Morlet filters of :func:`~gennet.transforms.filters.morlet_filter_bank`, and the border of one
    coarse sample is removed, so the output is ``(*batch, K, M_J, N_J)`` with ``M_J = M_pad/2^J − 2``
    (``= M / 2^J`` when ``2^J`` divides ``M``) and channels in kymatio's order:

    - ``K = 1 + J·L`` for ``max_order=1``; ``K = 1 + J·L + L²·J(J−1)/2`` for ``max_order=2``:
      index 0 is ``x ⋆ φ_J``, then ``(j1, θ1)`` (j1-major), then ``(j1, θ1, j2, θ2)`` for ``j2 > j1``.
    - With ``phases=A`` (even, ≥ 4): phase scattering — order 1 is ``ρ(Re(e^{-iα_a} x ⋆ ψ)) ⋆ φ_J``,
      ``α_a = 2πa/A``, in the order ``(j1, θ1, a)``: ``K = 1 + A·J·L (+ L²·J(J−1)/2)``; order 2 is still
      computed from the modulus. For RGB at J=4, L=8, A=4: ``3·K = 1539`` channels.

    Args:
        J: number of scales, ``2**J ≤ min(M, N)``.
        shape: ``(M, N)`` input size in pixels.
        L: number of orientations.
        max_order: 1 or 2.
        phases: ``None`` (modulus, kymatio's transform) or the number of phases ``A``.

    Raises:
        ValueError: for ``2**J`` larger than the image, ``max_order`` not in {1, 2}, ``L < 1``, a phase
            count that is not even and ≥ 4; in ``forward`` for an input of the wrong size.
    """

    def __init__(self, J: int, shape: tuple[int, int], L: int = 8, max_order: int = 2, phases: int | None = None) -> None:
        super().__init__()
        M, N = (int(s) for s in shape)
        if J < 1 or 2**J > min(M, N):
            raise ValueError(f"J={J} does not fit images of size {M}×{N}: need 1 ≤ J and 2**J ≤ min(M, N)")
        if max_order not in (1, 2):
            raise ValueError(f"max_order must be 1 or 2, got {max_order}")
        if L < 1:
            raise ValueError(f"L must be ≥ 1, got {L}")
        if phases is not None and (phases < 4 or phases % 2):
            raise ValueError(f"phases must be None or an even number ≥ 4, got {phases}")
        self.J, self.L, self.max_order, self.phases = int(J), int(L), int(max_order), phases
        self.M, self.N = M, N
        self.M_padded, self.N_padded = _padded_size(M, J), _padded_size(N, J)
        self.pads = (
            (self.M_padded - M) // 2, (self.M_padded - M + 1) // 2,
            (self.N_padded - N) // 2, (self.N_padded - N + 1) // 2,
        )
        bank = morlet_filter_bank(self.M_padded, self.N_padded, self.J, self.L)
        self.register_buffer("psi_hat", bank.psi.clone(), persistent=False)  # (J, L, Mp, Np)
        for j in range(self.J):
            self.register_buffer(f"phi_hat_{j}", periodize_fourier(bank.phi, j).clone(), persistent=False)
            if max_order == 2 and j < self.J - 1:
                # second-order wavelets j2 > j at the resolution of |x ⋆ ψ_j|
                self.register_buffer(f"psi_hat_{j}", periodize_fourier(bank.psi[j + 1 :], j).clone(), persistent=False)
        if phases is not None:
            alpha = 2 * math.pi * torch.arange(phases, dtype=torch.float64) / phases
            self.register_buffer("cos_alpha", torch.cos(alpha), persistent=False)
            self.register_buffer("sin_alpha", torch.sin(alpha), persistent=False)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(K, M_J, N_J)``: channels per input channel and the output grid."""
        A = self.phases or 1
        K = 1 + A * self.J * self.L
        if self.max_order == 2:
            K += self.L**2 * self.J * (self.J - 1) // 2
        return K, self.M_padded // 2**self.J - 2, self.N_padded // 2**self.J - 2

    def _lowpass(self, spectrum: torch.Tensor, j: int) -> torch.Tensor:
        """``(u ⋆ φ_J)`` subsampled to the 2^J grid and unpadded, for ``spectrum = fft2(u)`` at resolution ``j``."""
        phi = getattr(self, f"phi_hat_{j}").to(spectrum.real.dtype)
        out = torch.fft.ifft2(_alias_mean(spectrum * phi, 2 ** (self.J - j))).real
        return out[..., 1:-1, 1:-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``S_J x``: ``(*batch, M, N)`` → ``(*batch, K, M_J, N_J)`` (see the class docstring)."""
        if x.dim() < 2 or tuple(x.shape[-2:]) != (self.M, self.N):
            raise ValueError(f"expected input of shape (..., {self.M}, {self.N}), got {tuple(x.shape)}")
        batch_shape = x.shape[:-2]
        dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = x.reshape(-1, 1, self.M, self.N).to(dtype)
            x = _reflect_pad(x, self.pads, (self.M, self.N))[:, 0]  # (B, Mp, Np)
            spectrum = torch.fft.fft2(x)
            order0 = [self._lowpass(spectrum, 0)[:, None]]
            order1, order2 = [], []
            psi = self.psi_hat.to(dtype)
            for j1 in range(self.J):
                c = torch.fft.ifft2(_alias_mean(spectrum[:, None] * psi[j1], 2**j1))  # (B, L, M_j1, N_j1)
                modulus = c.abs()
                if self.phases is None:
                    order1.append(self._lowpass(torch.fft.fft2(modulus), j1))
                else:
                    cos = self.cos_alpha.to(dtype)[:, None, None]
                    sin = self.sin_alpha.to(dtype)[:, None, None]
                    rectified = F.relu(cos * c.real[:, :, None] + sin * c.imag[:, :, None])  # (B, L, A, ., .)
                    order1.append(self._lowpass(torch.fft.fft2(rectified), j1).flatten(1, 2))
                if self.max_order == 2 and j1 < self.J - 1:
                    u1 = torch.fft.fft2(modulus)[:, :, None]  # (B, L1, 1, M_j1, N_j1)
                    psi2 = getattr(self, f"psi_hat_{j1}").to(dtype)  # (J - j1 - 1, L2, M_j1, N_j1)
                    for k, j2 in enumerate(range(j1 + 1, self.J)):
                        u2 = torch.fft.ifft2(_alias_mean(u1 * psi2[k], 2 ** (j2 - j1))).abs()
                        order2.append((j1, self._lowpass(torch.fft.fft2(u2), j2)))  # (B, L1, L2, h, w)
            parts = order0 + order1
            for j1 in range(self.J - 1 if self.max_order == 2 else 0):
                blocks = [s for j, s in order2 if j == j1]  # j2 = j1+1 .. J-1, each (B, L1, L2, h, w)
                parts.append(torch.cat(blocks, dim=2).flatten(1, 2))  # (θ1, j2, θ2) order
            out = torch.cat(parts, dim=1)
        return out.reshape(*batch_shape, *out.shape[1:])

    def extra_repr(self) -> str:
        return f"J={self.J}, shape=({self.M}, {self.N}), L={self.L}, max_order={self.max_order}, phases={self.phases}"
