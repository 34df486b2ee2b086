"""The per-frequency block maps of a coarse convolution, applied to codes stored as columns: the lean path of the
iterative solvers (ADMM's shifted solve, the conjugate gradients of the implicit derivative).

A coarse convolution ``A: (B, K, h, w) → (B, C, h, w)`` (:class:`~gennet.sparse.dictionary.CoarseConvOperator`) is
block-diagonal in the 2-D real DFT: at coarse frequency ``Ω`` it is a complex ``C × K`` matrix ``Â(Ω)`` acting on
the column of the code's Fourier coefficients. So are ``AᵀA`` and ``(AᵀA + ρI)⁻¹``. The solvers apply such maps
tens of times per training step; here one application is three matrix products and nothing else:

    columns (h·w, K·B) ──DFT (one mm)──▶ (F, 2K, B) ──blocks (one bmm)──▶ (F, 2K, B) ──inverse DFT (one mm)──▶ (h·w, K·B)

Codes are stored as **columns**: a ``(h·w, K·B)`` matrix (position-major, then atom, then sample), so that the
spectrum of the DFT product is, without any copy, the stack over frequencies of ``(2K, B)`` matrices (real parts
of the ``K`` atoms, then their imaginary parts) that the blocks multiply; the blocks are the real ``2K × 2K``
embeddings ``[[Re N, −Im N], [Im N, Re N]]`` of the complex matrices ``N(Ω)``. The products write into buffers
allocated once per map, and the affine extras the solvers need ride on the same products: a constant ``bias``
(added to the spectrum by ``baddbmm``) and ``β·out`` (added by the inverse DFT, ``addmm_``). The same memory
viewed as ``(h·w·K, B)`` has one column per sample, for per-sample inner products and thresholds.

The maps (``gain``, ``identity`` scalars): ``"solve"``: ``gain·(AᵀA + ρI)⁻¹ + identity·I``; ``"gram"``:
``gain·AᵀA + identity·I``. The ``(AᵀA + ρI)⁻¹`` blocks are factorized in the kernel's real dtype (float32 for a
float32 dictionary: a batched real Cholesky of the embedded ``2K × 2K`` systems); when ``K`` is large against ``C``
(``2KC + C² < K²``) through the Woodbury identity ``(ρI + ÂᴴÂ)⁻¹ = (I − Âᴴ(ρI + ÂÂᴴ)⁻¹Â)/ρ`` with ``2C × 2C``
factorizations (no ``2K × 2K`` matrix is formed). Source: Wohlberg, "Efficient algorithms for convolutional sparse
representations", IEEE TIP 2016, §III (the frequency-domain solve of convolutional sparse coding).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

__all__ = ["ColumnMap", "FrequencyBlockMap", "embed_columns", "scaled_eye"]


@functools.lru_cache(maxsize=16)
def dft_matrices(h: int, w: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
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


@functools.lru_cache(maxsize=16)
def _column_dft(h: int, w: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """``(2F, h·w)`` DFT and ``(h·w, 2F)`` inverse DFT with the spectrum's rows ordered (frequency, real/imaginary)."""
    forward, inverse = dft_matrices(h, w, dtype, device)
    bins = forward.shape[1] // 2
    forward = forward.T.reshape(2, bins, h * w).transpose(0, 1).reshape(2 * bins, h * w).contiguous()
    inverse = inverse.reshape(2, bins, h * w).transpose(0, 1).reshape(2 * bins, h * w).T.contiguous()
    return forward, inverse


def embed(matrix: Tensor) -> Tensor:
    """Real embedding ``[[Re M, −Im M], [Im M, Re M]]`` of complex ``(…, n, m)`` matrices → ``(…, 2n, 2m)``."""
    re, im = matrix.real, matrix.imag
    return torch.cat([torch.cat([re, -im], -1), torch.cat([im, re], -1)], -2)


@functools.lru_cache(maxsize=32)
def scaled_eye(n: int, value: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``value·I_n`` (cached: a constant of the block products)."""
    return value * torch.eye(n, dtype=dtype, device=device)


@functools.lru_cache(maxsize=16)
def _embedding_pattern(dtype: torch.dtype, device: torch.device) -> Tensor:
    """``(2, 2, 2)``: ``[t, i, j]``, the ``(i, j)`` block of :func:`embed` that the real (``t = 0``) or imaginary
    (``t = 1``) part fills: ``[[Re, −Im], [Im, Re]]``."""
    return torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, -1.0], [1.0, 0.0]]], dtype=dtype, device=device)


def embed_columns(kernel_hat: Tensor) -> Tensor:
    """``embed(Â(Ω))``, ``(F, 2C, 2K)`` real, straight from the real-DFT kernel ``k̂: (K, C, h, w')`` complex
    (``Â(Ω) = k̂[:, :, Ω]ᵀ``, frequencies in ``(h, w')`` order): one product with the ``[[Re, −Im], [Im, Re]]`` pattern."""
    K, C, h, w = kernel_hat.shape
    parts = torch.view_as_real(kernel_hat)  # (K, C, h, w', 2)
    pattern = _embedding_pattern(parts.dtype, parts.device)
    with torch.autocast(device_type=parts.device.type, enabled=False):  # exact copy: no reduced-precision product
        return torch.einsum("kchwt,tij->hwicjk", parts, pattern).reshape(h * w, 2 * C, 2 * K)


@torch.no_grad()
def block_chain(e: Tensor, kind: str, rho: float | None, gain: float, identity: float) -> list[Tensor]:
    """The real block products of a map, from the real embedding ``e = embed(Â(Ω)): (F, 2C, 2K)`` (acting on columns).

    One ``(F, 2K, 2K)`` block: ``gain·ÂᴴÂ + identity·I`` (``"gram"``, ``K ≤ 2C``) or ``gain·(ÂᴴÂ + ρI)⁻¹ + identity·I``
    (``"solve"``, ``2KC + C² ≥ K²``); two, ``[Â, Âᴴ]`` (``"gram"``, large ``K``); three, ``[Â, (ρI + ÂÂᴴ)⁻¹, Âᴴ]``
    (``"solve"`` by Woodbury). All in the embedding, which maps products, adjoints and inverses of complex matrices to
    those of real ones (``embed(AB) = embed(A) embed(B)``, ``embed(Aᴴ) = embed(A)ᵀ``): a batched real Cholesky of the
    symmetric positive definite embedded systems, in ``e``'s dtype (float32 for a float32 dictionary), a handful of
    operations in all (issue 16). Autocast is off here: the factorizations stay in ``e``'s dtype (a complex input, as
    before, was never autocast; its real embedding would be).
    """
    with torch.autocast(device_type=e.device.type, enabled=False):
        return _block_chain(e, kind, rho, gain, identity)


def _block_chain(e: Tensor, kind: str, rho: float | None, gain: float, identity: float) -> list[Tensor]:
    C, K = e.shape[1] // 2, e.shape[2] // 2
    adjoint = e.transpose(1, 2)
    dtype, device = e.dtype, e.device

    def affine(block: Tensor) -> Tensor:  # gain·block + identity·I
        if identity != 0:
            return torch.add(scaled_eye(block.shape[-1], identity, dtype, device), block, alpha=gain)
        return block if gain == 1 else block.mul_(gain)

    if kind == "gram":
        return [affine(torch.bmm(adjoint, e))] if K <= 2 * C else [e, adjoint.contiguous()]
    if 2 * K * C + C * C >= K * K:
        shifted = torch.baddbmm(scaled_eye(2 * K, rho, dtype, device), adjoint, e)
        return [affine(torch.cholesky_inverse(torch.linalg.cholesky(shifted)))]
    shifted = torch.baddbmm(scaled_eye(2 * C, rho, dtype, device), e, adjoint)
    return [e, torch.cholesky_inverse(torch.linalg.cholesky(shifted)), adjoint.contiguous()]


class ColumnMap:
    """An affine map of codes stored as columns, ``x ↦ β·out + T x + bias`` (module docstring); this base class is
    the generic one, through the operator's ``solve_shifted`` / ``gram`` on codes ``(B, *code_shape)``.

    Columns: ``(N, B)``, ``N = prod(code_shape)`` (one column per sample). Subclasses may use another layout of the
    same numbers, as long as :meth:`per_sample` views it as ``(N', B)``.

    Args:
        op: the operator. batch: ``B``. kind: ``"solve"`` (``T = gain·(AᵀA + ρI)⁻¹ + identity·I``, needs ``rho``)
            or ``"gram"`` (``T = gain·AᵀA + identity·I``).
    """

    def __init__(self, op, batch: int, kind: str, rho: float | None = None, gain: float = 1.0, identity: float = 0.0) -> None:
        if kind not in ("solve", "gram"):
            raise ValueError(f"kind must be 'solve' or 'gram', got {kind!r}")
        if kind == "solve" and not (rho is not None and rho > 0):
            raise ValueError(f"a 'solve' map needs rho > 0, got {rho}")
        self.op, self.batch, self.kind, self.rho = op, int(batch), kind, rho
        self.gain, self.identity = float(gain), float(identity)
        self.bias: Tensor | None = None

    def to_columns(self, codes: Tensor) -> Tensor:
        """``(B, *code_shape)`` → columns (a new contiguous tensor)."""
        return codes.reshape(self.batch, -1).T.contiguous()

    def to_codes(self, columns: Tensor) -> Tensor:
        """Columns → ``(B, *code_shape)``."""
        return columns.T.reshape(self.batch, *self.op.code_shape)

    def per_sample(self, columns: Tensor) -> Tensor:
        """The columns viewed as ``(N', B)``: one column per sample."""
        return columns.view(-1, self.batch)

    def set_bias(self, bias: Tensor | None) -> None:
        """Add the columns ``bias`` to every later :meth:`apply` (``None``: no bias)."""
        self.bias = bias

    def set_bias_from(self, v: Tensor, scale: float, shift: float) -> None:
        """Set the bias to ``scale·T v + shift·v`` for columns ``v`` (``T`` without bias)."""
        self.set_bias(None)
        self.set_bias(self.apply(v).mul_(scale).add_(v, alpha=shift))

    def bias_columns(self) -> Tensor:
        """The bias as new columns (``T x + bias`` at ``x = 0``); a bias must be set."""
        return self.bias.clone()

    def _map(self, codes: Tensor) -> Tensor:
        mapped = self.op.solve_shifted(codes, self.rho) if self.kind == "solve" else self.op.gram(codes)
        return self.gain * mapped + self.identity * codes

    def apply(self, x: Tensor, out: Tensor | None = None, beta: float = 0.0) -> Tensor:
        """``β·out + T x + bias`` (written into ``out`` when given, else a new tensor; ``out`` must not be ``x``)."""
        y = self.to_columns(self._map(self.to_codes(x)))
        if self.bias is not None:
            y = y + self.bias
        if out is None:
            return y
        return out.mul_(beta).add_(y) if beta != 0 else out.copy_(y)


class FrequencyBlockMap(ColumnMap):
    """:class:`ColumnMap` of a coarse convolution by per-frequency blocks: three matrix products per application.

    Columns: ``(h·w, K·B)``. Blocks, DFT matrices and buffers are built here (no gradient). See the module docstring.

    Args:
        op: a :class:`~gennet.sparse.dictionary.CoarseConvOperator`; batch, kind, rho, gain, identity: as :class:`ColumnMap`.
    """

    def __init__(self, op, batch: int, kind: str, rho: float | None = None, gain: float = 1.0, identity: float = 0.0) -> None:
        super().__init__(op, batch, kind, rho, gain, identity)
        K, h, w = op.code_shape
        self.K, self.h, self.w = K, h, w
        dtype, device = op.dtype, op.device
        self.dft, self.idft = _column_dft(h, w, dtype, device)
        bins = self.dft.shape[0] // 2
        self.spectrum = torch.empty(2 * bins, K * batch, dtype=dtype, device=device)
        self.mapped = torch.empty_like(self.spectrum)
        self._x3, self._y3 = self.spectrum.view(bins, 2 * K, batch), self.mapped.view(bins, 2 * K, batch)
        self._bias3: Tensor | None = None
        self.chain = op.block_chain(kind, rho, gain, identity)
        C2 = self.chain[0].shape[1]  # 2C in the two- and three-product chains (Â first)
        if len(self.chain) > 1:
            self._mid = torch.empty(bins, C2, batch, dtype=dtype, device=device)
        if len(self.chain) == 3:
            self._mid2 = torch.empty_like(self._mid)
            self._shifted = torch.empty_like(self._x3)

    def to_columns(self, codes: Tensor) -> Tensor:
        if codes.dtype != self.spectrum.dtype:
            codes = codes.to(self.spectrum.dtype)
        columns = codes.permute(2, 3, 1, 0).reshape(self.h * self.w, self.K * self.batch)
        return columns if columns.is_contiguous() else columns.contiguous()  # reshape returns a strided view when B = 1

    def to_codes(self, columns: Tensor) -> Tensor:
        return columns.view(self.h, self.w, self.K, self.batch).permute(3, 2, 0, 1)

    def set_bias(self, bias: Tensor | None) -> None:
        """The bias as a spectrum (one DFT now; added in the spectral domain by every later :meth:`apply`)."""
        self.bias = bias
        self._bias3 = None if bias is None else (self.dft @ bias).view_as(self._x3)

    def set_bias_from(self, v: Tensor, scale: float, shift: float) -> None:
        """``scale·T v + shift·v`` as a spectrum, without a trip through space: one DFT and one ``baddbmm`` (one block)."""
        if len(self.chain) != 1:
            return super().set_bias_from(v, scale, shift)
        torch.mm(self.dft, v, out=self.spectrum)
        self._bias3 = torch.baddbmm(self._x3, self.chain[0], self._x3, beta=shift, alpha=scale)
        self.bias = self._bias3  # (not as columns: :meth:`apply` adds it to the spectrum)

    def bias_columns(self) -> Tensor:
        """The bias as new columns: one inverse DFT of its spectrum."""
        return torch.mm(self.idft, self._bias3.view_as(self.mapped))

    def apply(self, x: Tensor, out: Tensor | None = None, beta: float = 0.0) -> Tensor:
        torch.mm(self.dft, x, out=self.spectrum)
        x3, y3, bias = self._x3, self._y3, self._bias3
        if len(self.chain) == 1:
            if bias is None:
                torch.bmm(self.chain[0], x3, out=y3)
            else:
                torch.baddbmm(bias, self.chain[0], x3, out=y3)
        elif len(self.chain) == 2:  # gram through Â and Âᴴ
            torch.bmm(self.chain[0], x3, out=self._mid)
            start = x3 if bias is None else torch.add(bias, x3, alpha=self.identity)
            torch.baddbmm(start, self.chain[1], self._mid, beta=self.identity if bias is None else 1.0, alpha=self.gain, out=y3)
        else:  # Woodbury solve
            torch.bmm(self.chain[0], x3, out=self._mid)
            torch.bmm(self.chain[1], self._mid, out=self._mid2)
            scale = self.gain / self.rho
            if bias is None:
                torch.mul(x3, scale + self.identity, out=self._shifted)
            else:
                torch.add(bias, x3, alpha=scale + self.identity, out=self._shifted)
            torch.baddbmm(self._shifted, self.chain[2], self._mid2, alpha=-scale, out=y3)
        if out is None:
            return torch.mm(self.idft, self.mapped)
        if beta == 0:
            return torch.mm(self.idft, self.mapped, out=out)
        return out.addmm_(self.idft, self.mapped, beta=beta)
