"""The projector ``L``: average every channel of ``U x`` with ``φ_J`` and subsample to the 2^J grid (DESIGN §3).

    (L u)_{j,θ,a} = (u_{j,θ,a} ⋆ φ_J)(2^J n),      (L u)_φ = u_φ  (already x ⋆ φ_J on the 2^J grid)

Band ``j`` lives on the ``H/2^j`` grid, where ``φ_J`` is kymatio's low-pass at resolution ``j``
(``periodize_fourier(φ̂_J, j)``), followed by subsampling by ``2^(J−j)``; with ``U``'s modulus in place of
ρ this is exactly the first order of kymatio's scattering, so ``Φ = L∘U`` is the first-order
"phase scattering" of Zarka et al. (ICLR 2020) on a periodic domain. ``L`` is linear and not
invertible; the dictionary restores what it loses.
"""

from __future__ import annotations

import torch
from torch import nn

from .filters import morlet_filter_bank, periodize_fourier
from .rectified import WaveletCoefficients, check_image_shape

__all__ = ["LowPass2D"]


class LowPass2D(nn.Module):
    """``L``: rectified coefficients → embedding ``w`` of shape ``(B, C·(1 + J·L·A), H/2^J, W/2^J)``.

    Channel layout of ``w``: input channel ``c`` major, then ``[lowpass, (j, θ, a) for j < J, θ < L, a < A]``
    (``j`` slowest, ``a`` fastest), like kymatio's ``(B, C, K, h, w)`` flattened.

    Args:
        shape: ``(H, W)`` image size (pixels), divisible by ``2**J``.
        J, L, A: scales, orientations, phases of the rectified transform it follows.

    Raises:
        ValueError: if ``2**J`` does not fit the shape; in ``forward`` if the coefficients do not match.
    """

    def __init__(self, shape: tuple[int, int], J: int, L: int = 8, A: int = 4) -> None:
        super().__init__()
        self.H, self.W = check_image_shape(tuple(shape), J)
        self.J, self.L, self.A = int(J), int(L), int(A)
        phi = morlet_filter_bank(self.H, self.W, self.J, self.L).phi
        for j in range(self.J):
            phi_j = periodize_fourier(phi, j)  # (H/2^j, W/2^j), real and even
            # Half spectrum for rfft2, and the same filter in space (for composing L with atoms).
            self.register_buffer(f"phi_hat_{j}", phi_j[:, : phi_j.shape[-1] // 2 + 1].clone(), persistent=False)
            self.register_buffer(f"phi_spatial_{j}", torch.fft.ifft2(phi_j).real.clone(), persistent=False)

    @property
    def coarse_shape(self) -> tuple[int, int]:
        return self.H // 2**self.J, self.W // 2**self.J

    @property
    def channels_per_input(self) -> int:
        """``1 + J·L·A``: embedding channels per input channel."""
        return 1 + self.J * self.L * self.A

    def phi_spatial(self, j: int) -> torch.Tensor:
        """``φ_J`` at resolution ``j`` in space: ``(H/2^j, W/2^j)`` float64, periodic, origin at index (0, 0)."""
        return getattr(self, f"phi_spatial_{j}")

    def average_band(self, band: torch.Tensor, j: int) -> torch.Tensor:
        """``(u ⋆ φ_J)(2^J n)`` for ``band: (..., H/2^j, W/2^j)`` at resolution ``j`` → ``(..., H/2^J, W/2^J)``."""
        dtype = torch.float64 if band.dtype == torch.float64 else torch.float32
        with torch.autocast(device_type=band.device.type, enabled=False):
            band = band.to(dtype)
            size = band.shape[-2:]
            filtered = torch.fft.irfft2(torch.fft.rfft2(band) * getattr(self, f"phi_hat_{j}").to(dtype), s=size)
            s = 2 ** (self.J - j)
            return filtered[..., ::s, ::s]

    def forward(self, coeffs: WaveletCoefficients | tuple) -> torch.Tensor:
        """``L u`` for ``u = (lowpass (B, C, h, w), bands[j] (B, C, L, A, H/2^j, W/2^j))`` → ``(B, C(1+JLA), h, w)``."""
        lowpass, bands = coeffs
        if len(bands) != self.J:
            raise ValueError(f"expected {self.J} bands, got {len(bands)}")
        B, C, h, w = lowpass.shape
        if (h, w) != self.coarse_shape:
            raise ValueError(f"lowpass: expected spatial shape {self.coarse_shape}, got {(h, w)}")
        parts = [lowpass.unsqueeze(2).to(torch.float64 if lowpass.dtype == torch.float64 else torch.float32)]
        for j, band in enumerate(bands):
            if tuple(band.shape[-2:]) != (self.H // 2**j, self.W // 2**j):
                raise ValueError(f"band {j}: expected spatial shape {(self.H // 2**j, self.W // 2**j)}, got {tuple(band.shape[-2:])}")
            parts.append(self.average_band(band, j).reshape(B, C, self.L * self.A, h, w))
        return torch.cat(parts, dim=2).reshape(B, C * self.channels_per_input, h, w)

    def extra_repr(self) -> str:
        return f"shape=({self.H}, {self.W}), J={self.J}, L={self.L}, A={self.A}"
