"""Convolutional dictionary ``D`` in the space of ``U x`` and the composed operator ``A = L ∘ D`` (DESIGN §4).

A sparse code ``z: (B, K, h, w)`` lives on the coarse 2^J grid (``h = H/2^J``). Atom ``k`` is a patch of
``U``-space spanning ``atom_size × atom_size`` coarse cells at every resolution: a kernel
``(C, p, p)`` for the low-pass channel and ``(C·L·A, p·2^(J−j), p·2^(J−j))`` for band ``j``
(``p = atom_size``). ``D z`` places atom ``k`` with weight ``z[k, n]`` centred on coarse position ``n``
(a transposed convolution of stride ``2^(J−j)`` per band, periodic boundary). Atoms have unit ℓ2 norm
across all their pieces; :meth:`ConvDictionary.normalize_` restores it after an optimizer step.

Because ``L`` and ``D`` both commute with coarse-grid translations, ``A = L ∘ D`` is a convolution on
the coarse grid whose kernel ``a[k] = L(D δ_k)`` is obtained exactly by averaging each atom with
``φ_J`` (a small matrix product per band). :meth:`ConvDictionary.operator` builds it once per
forward pass, differentiably in the atoms, and applies it by FFT on the coarse grid, so the
unrolled homotopy layers never touch full-resolution ``U``-space.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..transforms.lowpass import LowPass2D
from ..transforms.rectified import WaveletCoefficients
from .operator import LinearOperator

__all__ = ["ConvDictionary", "CoarseConvOperator"]


class _Blocks:
    """Per-frequency complex matrices ``N(Ω)`` (``n × m``) acting on row vectors, ``y = x N``, stored as real
    ``(re, im)`` pairs ``(F, n, m)``; :meth:`apply` multiplies a spectrum ``(2, F, B, n)`` (real and imaginary
    parts, frequency-major) by them with four batched real matmuls."""

    def __init__(self, matrices: torch.Tensor, dtype: torch.dtype) -> None:
        self.re = matrices.real.to(dtype).contiguous()
        self.im = matrices.imag.to(dtype).contiguous()

    def apply(self, spectrum: torch.Tensor) -> torch.Tensor:
        x_re, x_im = spectrum[0], spectrum[1]
        out_re = torch.bmm(x_re, self.re) - torch.bmm(x_im, self.im)
        out_im = torch.bmm(x_re, self.im) + torch.bmm(x_im, self.re)
        return torch.stack([out_re, out_im])

    def adjoint(self) -> "_Blocks":
        """The blocks of ``y = x Nᴴ``."""
        blocks = _Blocks.__new__(_Blocks)
        blocks.re, blocks.im = self.re.transpose(1, 2).contiguous(), (-self.im).transpose(1, 2).contiguous()
        return blocks


class CoarseConvOperator(LinearOperator):
    """Multi-channel periodic convolution on the coarse grid: ``(B, K, h, w) → (B, C_w, h, w)``.

    ``forward(z)[c, m] = Σ_k Σ_n kernel[k, c, m − n] z[k, n]`` (indices mod ``(h, w)``); ``adjoint`` is its
    transpose. Computed per frequency ``Ω`` of the 2-D real DFT, where the operator is the complex ``K × C_w``
    matrix ``Â(Ω)`` acting on codes as row vectors, ``ŷ = ẑ Â`` (``Âᴴ`` for the adjoint): batched real
    matmuls on the real and imaginary parts, frequency-major. On coarse grids of at most ``_DFT_MAX`` cells the
    DFTs themselves are real matrix products (faster than FFTs at these sizes). ``norm_squared`` is exact: the
    largest squared singular value of ``Â(Ω)`` over frequencies.

    Args:
        kernel: ``(K, C_w, h, w)`` real tensor; gradients flow through it.
    """

    def __init__(self, kernel: torch.Tensor) -> None:
        self.kernel = kernel
        K, C_w, h, w = kernel.shape
        self.code_shape = (K, h, w)
        self.signal_shape = (C_w, h, w)
        with torch.autocast(device_type=kernel.device.type, enabled=False):
            k_hat = torch.fft.rfft2(kernel if kernel.dtype == torch.float64 else kernel.float())
        self.kernel_hat = k_hat  # (K, C_w, h, w//2+1)
        self._dtype = k_hat.real.dtype
        self._forward = _Blocks(k_hat.permute(2, 3, 0, 1).reshape(-1, K, C_w), self._dtype)  # Â(Ω): (F, K, C_w)
        self._adjoint = self._forward.adjoint()
        self._inverses: dict[float, _Blocks] = {}
        self._gram: _Blocks | None = None

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype

    @property
    def device(self) -> torch.device:
        return self.kernel_hat.device

    def _spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (B, n, h, w)`` → ``(2, F, B, n)``: real and imaginary parts of ``rfft2(x)``, frequency-major."""
        B, n, h, w = x.shape
        x = x.to(self._dtype)
        if h * w <= _DFT_MAX:
            forward, _ = _dft_matrices(h, w, x.dtype, x.device)
            return torch.mm(forward.T, x.reshape(B * n, h * w).T).reshape(2, -1, B, n)
        x_hat = torch.fft.rfft2(x)
        return torch.stack([x_hat.real, x_hat.imag]).flatten(3).permute(0, 3, 1, 2).contiguous()

    def _signal(self, spectrum: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """Inverse of :meth:`_spectrum`: ``(2, F, B, m)`` → ``(B, m, h, w)``."""
        _, bins, B, m = spectrum.shape
        if h * w <= _DFT_MAX:
            _, inverse = _dft_matrices(h, w, spectrum.dtype, spectrum.device)
            return torch.mm(spectrum.reshape(2 * bins, B * m).T, inverse).reshape(B, m, h, w)
        complex_ = torch.complex(spectrum[0], spectrum[1]).permute(1, 2, 0).reshape(B, m, h, w // 2 + 1)
        return torch.fft.irfft2(complex_, s=(h, w))

    def _apply(self, x: torch.Tensor, *blocks: _Blocks) -> torch.Tensor:
        """``x (B, n, h, w)`` times the per-frequency ``blocks`` in turn, back in space."""
        h, w = x.shape[-2:]
        with torch.autocast(device_type=x.device.type, enabled=False):
            spectrum = self._spectrum(x)
            for block in blocks:
                spectrum = block.apply(spectrum)
            return self._signal(spectrum, h, w)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self._apply(z, self._forward)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return self._apply(y, self._adjoint)

    def _complex_matrices(self) -> torch.Tensor:
        """``Â(Ω)``, ``(F, K, C_w)`` complex128, detached: codes act as row vectors, ``ŷ = ẑ Â``."""
        return self.kernel_hat.detach().to(torch.complex128).permute(2, 3, 0, 1).flatten(0, 1)

    def gram(self, z: torch.Tensor) -> torch.Tensor:
        """``AᵀA z`` in the Fourier domain (no gradient): one forward and one inverse DFT, and either one product with
        the per-frequency Gram matrices ``Â(Ω)Â(Ω)ᴴ`` (``K × K``, built once, when ``K ≤ 2 C_w``) or the two products
        with ``Â`` and ``Âᴴ``."""
        K, C = self.code_shape[0], self.signal_shape[0]
        with torch.no_grad():
            if K > 2 * C:
                return self._apply(z, self._forward, self._adjoint)
            if self._gram is None:
                a = self._complex_matrices()
                self._gram = _Blocks(a @ a.conj().transpose(1, 2), self._dtype)
            return self._apply(z, self._gram)

    def solve_shifted(self, rhs: torch.Tensor, rho: float) -> torch.Tensor:
        """``(AᵀA + ρI)⁻¹ rhs`` exactly, ``rhs: (B, K, h, w)`` (no gradient), in the Fourier domain.

        ``AᵀA`` is a convolution, block-diagonal in Fourier: at coarse frequency ``Ω`` it is the Hermitian
        ``K × K`` matrix ``Â(Ω)Â(Ω)ᴴ`` (codes as row vectors). When that is cheaper (``2 K C_w + C_w² < K²``, e.g.
        ``K = 1024``, ``C_w = 288``) the solve goes through the Woodbury identity, ``(ρI + ÂÂᴴ)⁻¹ =
        (I − Â (ρI + ÂᴴÂ)⁻¹ Âᴴ)/ρ``, with one ``C_w × C_w`` inverse per frequency (no ``K × K`` matrix is formed);
        otherwise the ``K × K`` inverses are formed. Either way,
        factorized once per ``ρ`` (float64 Cholesky) and cached on the operator (Wohlberg, IEEE TIP 2016, §III:
        the frequency-domain solve of convolutional sparse coding); one forward and one inverse DFT per call.
        """
        K, C = self.code_shape[0], self.signal_shape[0]
        woodbury = 2 * K * C + C * C < K * K
        with torch.no_grad():
            if rho not in self._inverses:
                a = self._complex_matrices()
                if woodbury:
                    eye = torch.eye(C, dtype=a.dtype, device=a.device)
                    small = torch.cholesky_inverse(torch.linalg.cholesky(a.conj().transpose(1, 2) @ a + rho * eye))
                    self._inverses[rho] = _Blocks(small, self._dtype)
                else:
                    eye = torch.eye(K, dtype=a.dtype, device=a.device)
                    inverse = torch.cholesky_inverse(torch.linalg.cholesky(a @ a.conj().transpose(1, 2) + rho * eye))
                    self._inverses[rho] = _Blocks(inverse, self._dtype)
            h, w = rhs.shape[-2:]
            with torch.autocast(device_type=rhs.device.type, enabled=False):
                spectrum = self._spectrum(rhs)
                if woodbury:
                    coupled = self._adjoint.apply(self._inverses[rho].apply(self._forward.apply(spectrum)))
                    spectrum = (spectrum - coupled) / rho
                else:
                    spectrum = self._inverses[rho].apply(spectrum)
                return self._signal(spectrum, h, w)

    def norm_squared(self) -> torch.Tensor:
        """Exact ``‖A‖²`` = max over coarse frequencies of ``σ_max(Â(Ω))²`` (no gradient)."""
        with torch.no_grad():
            per_frequency = self.kernel_hat.detach().permute(2, 3, 1, 0)  # (h, w', C_w, K)
            return torch.linalg.matrix_norm(per_frequency, ord=2).max() ** 2


_DFT_MAX = 256  #: coarse grids of at most this many cells use DFT matrices instead of FFTs


@functools.lru_cache(maxsize=16)
def _dft_matrices(h: int, w: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Real matrices of ``rfft2`` and ``irfft2`` on an ``h × w`` grid: ``(h·w, 2F)`` and ``(2F, h·w)``, ``F = h·(w//2+1)``,
    columns / rows ordered (real parts, imaginary parts). Built by transforming the unit vectors, so they follow
    torch's conventions exactly (including the unpaired bins of ``irfft2``)."""
    cells = h * w
    unit = torch.eye(cells, dtype=torch.float64).reshape(cells, h, w)
    spectrum = torch.fft.rfft2(unit).reshape(cells, -1)
    forward = torch.cat([spectrum.real, spectrum.imag], dim=1)
    bins = spectrum.shape[1]
    basis = torch.eye(bins, dtype=torch.complex128).reshape(bins, h, w // 2 + 1)
    inverse = torch.cat([torch.fft.irfft2(basis, s=(h, w)), torch.fft.irfft2(1j * basis, s=(h, w))]).reshape(2 * bins, cells)
    return forward.to(dtype=dtype, device=device), inverse.to(dtype=dtype, device=device)


def _wrap(out: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    """Fold ``out`` periodically along ``dim`` onto ``n`` entries: entry ``t`` is added to ``t mod n``."""
    length = out.shape[dim]
    if length <= n:
        pad = [0, 0] * (out.dim() - 1 - dim % out.dim()) + [0, n - length]
        return F.pad(out, pad)
    head, tail = out.narrow(dim, 0, n), _wrap(out.narrow(dim, n, length - n), n, dim)
    return head + tail


def _fold_periodic(out: torch.Tensor, size: tuple[int, int], offset: int) -> torch.Tensor:
    """Wrap a transposed-convolution output onto the periodic grid ``size`` and centre it.

    ``out[..., t1, t2]`` is added to position ``((t1 − offset) mod H, (t2 − offset) mod W)``.
    """
    H, W = size
    out = _wrap(_wrap(out, H, -2), W, -1)
    return torch.roll(out, shifts=(-offset, -offset), dims=(-2, -1))


class ConvDictionary(nn.Module):
    """Learned convolutional dictionary ``D`` of ``K`` unit-norm atoms in ``U``-space (DESIGN §4).

    Args:
        num_atoms: ``K``.
        channels: ``C``, image channels.
        shape: ``(H, W)`` image size (pixels).
        J, L, A: scales, orientations, phases of ``U``.
        atom_size: ``p``, atom support in coarse cells (``p × p``; ``2^J·p`` pixels wide), ``1 ≤ p ≤ min(h, w)``.
        generator: optional ``torch.Generator`` for the random (Gaussian, normalized) initialization.
        lowpass: whether atoms have a piece in the low-pass channel of ``U x``. Without it (the generator's
            choice: the low-pass channel of ``w`` is ``x ⋆ φ_J`` itself and is passed to ``U⁻¹`` as is),
            ``D z`` has a zero low-pass channel and ``A = L∘D`` acts on the band channels of ``w`` only.

    Attributes:
        lowpass_atoms: ``(K, C, p, p)`` parameter (``None`` without a low-pass piece).
        band_atoms: ``J`` parameters, band ``j`` is ``(K, C·L·A, p·2^(J−j), p·2^(J−j))``.

    Raises:
        ValueError: for a non-positive ``num_atoms`` or an ``atom_size`` that does not fit the coarse grid.
    """

    def __init__(
        self,
        num_atoms: int,
        channels: int,
        shape: tuple[int, int],
        J: int,
        L: int = 8,
        A: int = 4,
        atom_size: int = 2,
        generator: torch.Generator | None = None,
        lowpass: bool = True,
    ) -> None:
        super().__init__()
        H, W = int(shape[0]), int(shape[1])
        h, w = H // 2**J, W // 2**J
        if num_atoms < 1:
            raise ValueError(f"num_atoms must be ≥ 1, got {num_atoms}")
        if not 1 <= atom_size <= min(h, w):
            raise ValueError(f"atom_size must be in [1, {min(h, w)}] (the coarse grid is {h}×{w}), got {atom_size}")
        self.K, self.C, self.H, self.W = int(num_atoms), int(channels), H, W
        self.J, self.L, self.A, self.atom_size = int(J), int(L), int(A), int(atom_size)
        p = self.atom_size
        self.has_lowpass = bool(lowpass)
        if self.has_lowpass:
            self.lowpass_atoms = nn.Parameter(torch.randn(self.K, self.C, p, p, generator=generator))
        else:
            self.register_parameter("lowpass_atoms", None)
        self.band_atoms = nn.ParameterList(
            nn.Parameter(torch.randn(self.K, self.C * L * A, p * self.stride(j), p * self.stride(j), generator=generator))
            for j in range(self.J)
        )
        self.normalize_()

    @property
    def coarse_shape(self) -> tuple[int, int]:
        return self.H // 2**self.J, self.W // 2**self.J

    @property
    def signal_channels(self) -> int:
        """Channels of ``A z``: ``C·(1 + J·L·A)`` (all of ``w``), or ``C·J·L·A`` (its bands) without a low-pass piece."""
        return self.C * (int(self.has_lowpass) + self.J * self.L * self.A)

    def stride(self, j: int) -> int:
        """Upsampling factor from the coarse grid to band ``j``: ``2^(J−j)``."""
        return 2 ** (self.J - j)

    def pieces(self) -> list[torch.Tensor]:
        """The atom pieces ``[lowpass_atoms, band_atoms[0], …]`` (without ``lowpass_atoms`` if there are none)."""
        return [self.lowpass_atoms, *self.band_atoms] if self.has_lowpass else list(self.band_atoms)

    def atom_norms(self) -> torch.Tensor:
        """``(K,)`` ℓ2 norms of the atoms across all pieces."""
        return torch.sqrt(sum(piece.pow(2).flatten(1).sum(1) for piece in self.pieces()))

    @torch.no_grad()
    def normalize_(self) -> None:
        """Rescale every atom to unit ℓ2 norm, in place (call after each optimizer step)."""
        norms = self.atom_norms().clamp_min(1e-12)
        for piece in self.pieces():
            piece.div_(norms.view(-1, 1, 1, 1))

    @torch.no_grad()
    def init_from_coefficients_(
        self, coeffs: WaveletCoefficients, generator: torch.Generator | None = None, atoms: torch.Tensor | None = None
    ) -> None:
        """Initialize atoms with patches of ``U x`` from a batch, then normalize (in place).

        Atom ``k`` becomes the piece of ``coeffs`` that atom ``k`` would cover if placed at a random coarse
        position of a random image of the batch (periodic), so ``D`` starts in the span of the data — the usual
        data-patch initialization of dictionary learning. Positions are drawn with probabilities proportional
        to the energy of the wavelet bands in their coarse cell, so that no atom starts as an empty patch of
        flat background. ``coeffs`` is laid out as :class:`WaveletCoefficients` for images of this dictionary's
        shape and channels. ``atoms``: indices of the atoms to initialize (default: all); the others are kept.
        """
        lowpass, bands = coeffs
        h, w = self.coarse_shape
        device = self.band_atoms[0].device
        index = torch.arange(self.K, device=device) if atoms is None else atoms.to(device)
        energy = sum(
            F.avg_pool2d(band.flatten(1, 3).pow(2).sum(1, keepdim=True).double(), self.stride(j)).flatten(1)
            for j, band in enumerate(bands)
        )  # (B, h·w): band energy per coarse cell
        energy = energy.flatten().cpu() + 1e-12  # an all-zero batch still draws uniformly
        cell = torch.multinomial(energy / energy.sum(), len(index), replacement=True, generator=generator).to(device)
        image, row, col = cell // (h * w), (cell % (h * w)) // w, cell % w
        pieces = [(lowpass.to(device), self.lowpass_atoms, 1)] if self.has_lowpass else []
        pieces += [(band.flatten(1, 3).to(device), atoms, self.stride(j)) for j, (band, atoms) in enumerate(zip(bands, self.band_atoms))]
        for source, atom_piece, s in pieces:
            k = atom_piece.shape[-1]
            size_r, size_c = source.shape[-2:]
            u = torch.arange(k, device=device) - (self.atom_size * s) // 2  # the offset used by forward
            rows = (s * row[:, None] + u[None, :]) % size_r  # (n, k)
            cols = (s * col[:, None] + u[None, :]) % size_c
            patch = source[image[:, None, None, None], torch.arange(source.shape[1], device=device)[None, :, None, None],
                           rows[:, None, :, None], cols[:, None, None, :]]
            atom_piece[index] = patch.to(atom_piece.dtype)
        self.normalize_()

    # -- D ----------------------------------------------------------------------------------------
    def forward(self, z: torch.Tensor) -> WaveletCoefficients:
        """``D z``: codes ``(B, K, h, w)`` → coefficients in ``U``-space (layout of :class:`WaveletCoefficients`)."""
        if z.dim() != 4 or z.shape[1] != self.K or tuple(z.shape[2:]) != self.coarse_shape:
            raise ValueError(f"expected codes of shape (B, {self.K}, {self.coarse_shape[0]}, {self.coarse_shape[1]}), got {tuple(z.shape)}")
        B = z.shape[0]
        p = self.atom_size
        if self.has_lowpass:
            lowpass = _fold_periodic(F.conv_transpose2d(z, self.lowpass_atoms), self.coarse_shape, p // 2)
        else:
            lowpass = z.new_zeros(B, self.C, *self.coarse_shape)
        bands = []
        for j, atoms in enumerate(self.band_atoms):
            s = self.stride(j)
            size = (self.H // 2**j, self.W // 2**j)
            band = _fold_periodic(F.conv_transpose2d(z, atoms, stride=s), size, (p * s) // 2)
            bands.append(band.reshape(B, self.C, self.L, self.A, *size))
        return WaveletCoefficients(lowpass, tuple(bands))

    # -- A = L ∘ D ------------------------------------------------------------------------------
    def coarse_kernel(self, lowpass: LowPass2D) -> torch.Tensor:
        """Kernel ``(K, C_w, h, w)`` of ``A = L ∘ D``: ``a[k] = L(D δ_k)``, channels laid out as ``w``'s
        (``C_w`` = :attr:`signal_channels`: without a low-pass piece, the band channels of ``w`` in their order)."""
        h, w = self.coarse_shape
        p = self.atom_size
        # Full precision even under autocast: the unrolled layers are sensitive to errors in A.
        with torch.autocast(device_type=self.band_atoms[0].device.type, enabled=False):
            parts = []
            if self.has_lowpass:  # L is the identity on the low-pass channel; the atom is placed centred at the origin
                parts.append(self._average(self.lowpass_atoms, None, 1, (h, w), p // 2).reshape(self.K, self.C, 1, h, w))
            for j, atoms in enumerate(self.band_atoms):
                s = self.stride(j)
                averaged = self._average(atoms, lowpass.phi_spatial(j), s, (h, w), (p * s) // 2)
                parts.append(averaged.reshape(self.K, self.C, self.L * self.A, h, w))
            return torch.cat(parts, dim=2).reshape(self.K, self.signal_channels, h, w)

    @staticmethod
    def _average(
        atoms: torch.Tensor, phi: torch.Tensor | None, s: int, coarse: tuple[int, int], offset: int
    ) -> torch.Tensor:
        """``(atom ⋆ φ)(s m)`` on the coarse grid for atoms centred at the origin (periodic).

        ``atoms: (K, c, k, k)`` → ``(K, c, h, w)``; ``phi`` is the periodic spatial filter at the atoms'
        resolution (``None`` = identity, at ``s = 1``).
        """
        h, w = coarse
        k = atoms.shape[-1]
        u = torch.arange(k, device=atoms.device)
        rows = (s * torch.arange(h, device=atoms.device)[:, None] - u[None, :] + offset)  # (h, k)
        cols = (s * torch.arange(w, device=atoms.device)[:, None] - u[None, :] + offset)  # (w, k)
        if phi is None:
            weight_r = (rows % h == 0).to(atoms.dtype)
            weight_c = (cols % w == 0).to(atoms.dtype)
            matrix = weight_r[:, None, :, None] * weight_c[None, :, None, :]
        else:
            phi = phi.to(device=atoms.device, dtype=atoms.dtype)
            matrix = phi[(rows % phi.shape[0])[:, None, :, None], (cols % phi.shape[1])[None, :, None, :]]
        matrix = matrix.reshape(h * w, k * k)  # (coarse position m, atom pixel u)
        out = atoms.reshape(-1, k * k) @ matrix.T
        return out.reshape(*atoms.shape[:2], h, w)

    def operator(self, lowpass: LowPass2D) -> CoarseConvOperator:
        """``A = L ∘ D`` as a :class:`CoarseConvOperator` (differentiable in the atoms)."""
        return CoarseConvOperator(self.coarse_kernel(lowpass))

    def extra_repr(self) -> str:
        return (f"num_atoms={self.K}, channels={self.C}, shape=({self.H}, {self.W}), J={self.J}, "
                f"L={self.L}, A={self.A}, atom_size={self.atom_size}, lowpass={self.has_lowpass}")
