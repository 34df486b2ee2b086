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

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..transforms.embedding import LowPass2D, WaveletCoefficients
from .coarse_optimality import coarse_lasso_optimality
from .coarse_products import coarse_conv
from .frequency_blocks import ColumnMap, FrequencyBlockMap, block_chain, embed_columns
from .operator import LinearOperator

__all__ = ["ConvDictionary", "CoarseConvOperator"]


class CoarseConvOperator(LinearOperator):
    """Multi-channel periodic convolution on the coarse grid: ``(B, K, h, w) → (B, C_w, h, w)``.

    ``forward(z)[c, m] = Σ_k Σ_n kernel[k, c, m − n] z[k, n]`` (indices mod ``(h, w)``); ``adjoint`` is its
    transpose. Computed per frequency ``Ω`` of the 2-D real DFT, where the operator is the complex ``C_w × K``
    matrix ``Â(Ω) = k̂[:, :, Ω]ᵀ`` acting on the column of the code's coefficients (``Âᴴ`` for the adjoint):
    ``rfft2``, one complex ``einsum`` over the frequencies, ``irfft2`` — three operations, differentiable in the
    input and the kernel (a hand-written backward, :mod:`gennet.sparse.coarse_products`; ``k̂`` itself is a constant). The solvers' repeated maps (``(AᵀA + ρI)⁻¹``, ``AᵀA``) go through
    :meth:`column_map` (:mod:`gennet.sparse.frequency_blocks`). ``norm_squared`` is exact: the largest squared
    singular value of ``Â(Ω)`` over frequencies.

    Args:
        kernel: ``(K, C_w, h, w)`` real tensor; gradients flow through it.
    """

    def __init__(self, kernel: torch.Tensor) -> None:
        self.kernel = kernel
        K, C_w, h, w = kernel.shape
        self.code_shape = (K, h, w)
        self.signal_shape = (C_w, h, w)
        with torch.autocast(device_type=kernel.device.type, enabled=False), torch.no_grad():
            # a constant of the products: their gradients reach the kernel itself (gennet.sparse.coarse_products)
            k_hat = torch.fft.rfft2(kernel if kernel.dtype in (torch.float32, torch.float64) else kernel.float())
        self.kernel_hat = k_hat  # (K, C_w, h, w//2+1)
        self._dtype = k_hat.real.dtype
        self._chains: dict[tuple, list[torch.Tensor]] = {}
        self._real_blocks: torch.Tensor | None = None
        self._maps: dict[tuple, ColumnMap] = {}

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype

    @property
    def device(self) -> torch.device:
        return self.kernel_hat.device

    def _apply(self, x: torch.Tensor, adjoint: bool) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            if x.dtype != self._dtype:
                x = x.to(self._dtype)
            return coarse_conv(x, self.kernel, self.kernel_hat, adjoint)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self._apply(z, False)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return self._apply(y, True)

    def lasso_optimality(self, z: torch.Tensor, y: torch.Tensor, lam):
        """:meth:`LinearOperator.lasso_optimality` with a hand-written backward (:mod:`gennet.sparse.coarse_optimality`)."""
        dtype = self._dtype
        if not isinstance(lam, torch.Tensor):
            lam = torch.as_tensor(lam, dtype=dtype, device=y.device)
        y, z, lam = (t if t.dtype == dtype else t.to(dtype) for t in (y, z, lam))
        with torch.autocast(device_type=y.device.type, enabled=False):
            return coarse_lasso_optimality(y, self.kernel, self.kernel_hat, z, lam)

    def complex_blocks(self) -> torch.Tensor:
        """``Â(Ω)``: ``(F, C_w, K)`` complex, detached (codes as columns, ``ŷ(Ω) = Â(Ω) ẑ(Ω)``)."""
        K, C = self.code_shape[0], self.signal_shape[0]
        return self.kernel_hat.detach().permute(2, 3, 1, 0).reshape(-1, C, K)

    def real_blocks(self) -> torch.Tensor:
        """``embed(Â(Ω))``: ``(F, 2C_w, 2K)`` real, detached, built once per operator
        (:func:`~gennet.sparse.frequency_blocks.embed_columns`)."""
        if self._real_blocks is None:
            self._real_blocks = embed_columns(self.kernel_hat.detach())
        return self._real_blocks

    def block_chain(self, kind: str, rho: float | None, gain: float, identity: float) -> list[torch.Tensor]:
        """The cached block products of :func:`~gennet.sparse.frequency_blocks.block_chain` (factorized once per setting,
        all from one :meth:`real_blocks`)."""
        key = (kind, rho, gain, identity)
        if key not in self._chains:
            self._chains[key] = block_chain(self.real_blocks(), kind, rho, gain, identity)
        return self._chains[key]

    def column_map(self, batch: int, kind: str, rho: float | None = None, gain: float = 1.0, identity: float = 0.0) -> ColumnMap:
        return FrequencyBlockMap(self, batch, kind, rho, gain, identity)

    def _cached_map(self, batch: int, kind: str, rho: float | None) -> ColumnMap:
        key = (batch, kind, rho)
        if key not in self._maps:
            self._maps[key] = self.column_map(batch, kind, rho)
        return self._maps[key]

    def gram(self, z: torch.Tensor) -> torch.Tensor:
        """``AᵀA z`` (no gradient), ``z: (B, K, h, w)``: one application of the per-frequency Gram blocks (or of
        ``Â`` then ``Âᴴ`` when ``K > 2 C_w``), :class:`~gennet.sparse.frequency_blocks.FrequencyBlockMap`."""
        with torch.no_grad():
            m = self._cached_map(z.shape[0], "gram", None)
            return m.to_codes(m.apply(m.to_columns(z))).contiguous()

    def solve_shifted(self, rhs: torch.Tensor, rho: float) -> torch.Tensor:
        """``(AᵀA + ρI)⁻¹ rhs`` exactly, ``rhs: (B, K, h, w)`` (no gradient), in the Fourier domain.

        ``AᵀA`` is a convolution, block-diagonal in Fourier: at coarse frequency ``Ω`` it is the Hermitian ``K × K``
        matrix ``Â(Ω)ᴴÂ(Ω)``. Factorized once per ``ρ`` in the kernel's dtype (a batched Cholesky of the real
        embeddings; through the Woodbury identity with ``C_w × C_w`` systems when ``2 K C_w + C_w² < K²``) and cached
        on the operator (Wohlberg, IEEE TIP 2016, §III; :mod:`gennet.sparse.frequency_blocks`).
        """
        with torch.no_grad():
            m = self._cached_map(rhs.shape[0], "solve", rho)
            return m.to_codes(m.apply(m.to_columns(rhs))).contiguous()

    def norm_squared(self) -> torch.Tensor:
        """Exact ``‖A‖²`` = max over coarse frequencies of ``σ_max(Â(Ω))²`` (no gradient)."""
        with torch.no_grad():
            per_frequency = self.kernel_hat.detach().permute(2, 3, 1, 0)  # (h, w', C_w, K)
            return torch.linalg.matrix_norm(per_frequency, ord=2).max() ** 2


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
        per_piece = torch.stack([torch.linalg.vector_norm(piece, dim=(1, 2, 3)) for piece in self.pieces()])
        return torch.linalg.vector_norm(per_piece, dim=0)

    @torch.no_grad()
    def normalize_(self) -> None:
        """Rescale every atom to unit ℓ2 norm, in place (call after each optimizer step)."""
        norms = self.atom_norms().clamp_min(1e-12).view(-1, 1, 1, 1)
        pieces = self.pieces()
        torch._foreach_div_(pieces, [norms] * len(pieces))

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
        norms = torch.sqrt(sum(piece[index].pow(2).flatten(1).sum(1) for piece in self.pieces())).clamp_min(1e-12)
        for piece in self.pieces():  # only the new atoms: the others are kept as they are, bit for bit
            piece[index] = piece[index] / norms.view(-1, 1, 1, 1)

    # -- D ----------------------------------------------------------------------------------------
    def forward(self, z: torch.Tensor) -> WaveletCoefficients:
        """``D z``: codes ``(B, K, h, w)`` → coefficients in ``U``-space (layout of :class:`WaveletCoefficients`)."""
        if z.dim() != 4 or z.shape[1] != self.K or tuple(z.shape[2:]) != self.coarse_shape:
            raise ValueError(f"expected codes of shape (B, {self.K}, {self.coarse_shape[0]}, {self.coarse_shape[1]}), got {tuple(z.shape)}")
        B = z.shape[0]
        p = self.atom_size
        # Periodic transposed convolutions: one circular padding of the code serves every piece (see _padding).
        left, right = self._padding()
        padded = self._pad_circular(z, left, right) if left + right else z
        if self.has_lowpass:
            lowpass = self._place(padded, self.lowpass_atoms, 1, self.coarse_shape, left)
        else:
            lowpass = z.new_zeros(B, self.C, *self.coarse_shape)
        bands = []
        for j, atoms in enumerate(self.band_atoms):
            size = (self.H // 2**j, self.W // 2**j)
            band = self._place(padded, atoms, self.stride(j), size, left)
            bands.append(band.reshape(B, self.C, self.L, self.A, *size))
        return WaveletCoefficients(lowpass, tuple(bands))

    def _padding(self) -> tuple[int, int]:
        """Coarse cells of circular padding ``(left, right)`` of the code that make every transposed convolution of
        :meth:`forward` periodic after a crop.

        Atom ``k`` at coarse cell ``n`` covers the pixels ``s·n − ⌊p·s/2⌋ + [0, p·s)`` of a band of stride ``s``. The
        transposed convolution of the code padded by ``left`` cells before and ``right`` after is, at output pixel
        ``t``, the periodic sum at pixel ``t − left·s`` wherever every cell that reaches ``t`` is in the padded code:
        for ``t ∈ [(p−1)s, (h + left + right)s)``. The crop starts at ``⌊p·s/2⌋ + left·s`` and is ``h·s`` long, so
        ``left ≥ p − 1 − ⌊p·s/2⌋/s`` and ``right ≥ ⌊p·s/2⌋/s`` (for all strides ``s`` of the pieces).
        """
        p = self.atom_size
        strides = [self.stride(j) for j in range(self.J)] + ([1] if self.has_lowpass else [])
        right = max(math.ceil(((p * s) // 2) / s) for s in strides)
        left = max(max(0, math.ceil(p - 1 - ((p * s) // 2) / s)) for s in strides)
        return left, right

    def _pad_circular(self, z: torch.Tensor, left: int, right: int) -> torch.Tensor:
        """``F.pad(z, (left, right, left, right), mode="circular")`` as one gather of the flattened grid (cached
        indices): its backward is one scatter-add, not a chain of slice copies."""
        h, w = z.shape[-2:]
        key = (h, w, left, right, z.device)
        cache = self.__dict__.setdefault("_padding_cache", {})
        if key not in cache:
            rows = torch.arange(-left, h + right, device=z.device) % h
            cols = torch.arange(-left, w + right, device=z.device) % w
            cache[key] = (rows[:, None] * w + cols[None, :]).flatten()
        side = (h + left + right, w + left + right)
        return z.flatten(2).index_select(2, cache[key]).view(*z.shape[:2], *side)

    @staticmethod
    def _place(padded: torch.Tensor, atoms: torch.Tensor, s: int, size: tuple[int, int], left: int) -> torch.Tensor:
        """The periodic ``Σ_n z[n] atom(· − s·n + offset)`` on a grid ``size`` from the padded code (:meth:`_padding`)."""
        k = atoms.shape[-1]
        start = (k // 2) + left * s  # k = p·s: the offset ⌊p·s/2⌋ of forward's centring
        full = ((padded.shape[-2] - 1) * s + k, (padded.shape[-1] - 1) * s + k)
        if all(n - start - m == start for n, m in zip(full, size)):  # a symmetric crop: the convolution's own padding
            return F.conv_transpose2d(padded, atoms, stride=s, padding=start)
        out = F.conv_transpose2d(padded, atoms, stride=s)
        return out[..., start : start + size[0], start : start + size[1]]

    # -- A = L ∘ D ------------------------------------------------------------------------------
    def coarse_kernel(self, lowpass: LowPass2D) -> torch.Tensor:
        """Kernel ``(K, C_w, h, w)`` of ``A = L ∘ D``: ``a[k] = L(D δ_k)``, channels laid out as ``w``'s
        (``C_w`` = :attr:`signal_channels`: without a low-pass piece, the band channels of ``w`` in their order).
        One contraction per piece with its fixed averaging matrix (:meth:`_averaging`)."""
        h, w = self.coarse_shape
        # Full precision even under autocast: the solvers are sensitive to errors in A.
        with torch.autocast(device_type=self.band_atoms[0].device.type, enabled=False):
            parts = []
            if self.has_lowpass:  # L is the identity on the low-pass channel; the atom is placed centred at the origin
                averaged = self.lowpass_atoms.flatten(2) @ self._averaging(None, 1)
                parts.append(averaged.unsqueeze(2))
            for j, atoms in enumerate(self.band_atoms):
                k2 = atoms.shape[-1] ** 2  # one 2-D product (a 3-D @ 2-D matmul adds reshapes to the backward)
                averaged = torch.mm(atoms.reshape(-1, k2), self._averaging(lowpass, j))  # (K·C·L·A, h·w)
                parts.append(averaged.view(self.K, self.C, self.L * self.A, h * w))
            return torch.cat(parts, dim=2).view(self.K, self.signal_channels, h, w)

    def _averaging(self, lowpass: LowPass2D | None, j: int) -> torch.Tensor:
        """``(k·k, h·w)``: coarse value ``m`` of ``(atom ⋆ φ_J)(s m)`` as weights on the pixels of an atom of band ``j``
        centred at the origin (periodic; ``lowpass=None``: the identity, for the low-pass piece). Built once per
        filter, dtype and device, and cached (the filters are fixed)."""
        atoms = self.lowpass_atoms if lowpass is None else self.band_atoms[j]
        phi = None if lowpass is None else lowpass.phi_spatial(j)
        key = (j if phi is not None else -1, id(phi), atoms.dtype, atoms.device)
        cache = self.__dict__.setdefault("_averaging_cache", {})
        if key not in cache:
            s = 1 if phi is None else self.stride(j)
            with torch.no_grad():
                matrix = self._average(torch.eye(atoms.shape[-1] ** 2, dtype=atoms.dtype, device=atoms.device)
                                       .reshape(-1, 1, atoms.shape[-1], atoms.shape[-1]), phi, s, self.coarse_shape,
                                       (self.atom_size * s) // 2)
            k = atoms.shape[-1]
            cache[key] = (phi, matrix.reshape(k * k, -1).contiguous())  # keep phi: its id stays valid
        return cache[key][1]

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
