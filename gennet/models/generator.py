"""The sparse-inverse generator ``G(w) = U⁻¹(w_low, D z)``, ``z`` a Lasso solution (DESIGN §6, §6b).

Path of one image (STYLE.md): ``x ─U─▶ U x ─L─▶ w = Φ(x) = (w_low, w_band)``; ``w_band ─Lasso(Ã = L∘D)─▶ z``;
``(w_low, D z) ─U⁻¹─▶ x̃``. This module only wires the pieces: the fixed embedding (``transforms``), the
learned dictionary, the Lasso solver and its certificate (``sparse``).

Source: S. Mallat, "Interpretable deep neural networks" (seed 001, "Generation as an inverse problem",
T. Angles & F. Guth: "compute z such that Ux = Dz where z is sparse"); J. Mairal, F. Bach & J. Ponce,
"Task-driven dictionary learning", IEEE TPAMI 2012 (learning D through the Lasso solution map).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..sparse.admm import ADMM
from ..sparse.dictionary import CoarseConvOperator, ConvDictionary
from ..sparse.lasso import max_correlation
from ..sparse.solver import SOLVERS, LassoSolver
from ..sparse.unit_columns import unit_columns
from ..transforms.embedding import Embedding2D, WaveletCoefficients

__all__ = ["CodeStatistics", "EmbeddingInverse", "SparseInverseGenerator"]


class EmbeddingInverse(nn.Module):
    """Base of the decoders ``G`` with ``G(Φ(x)) ≈ x`` for the fixed ``Φ = L∘U`` (DESIGN §3, §6).

    Subclasses implement ``decode(w, return_stats=False)`` (and, if their weights need a projection after each
    optimizer step, ``after_optimizer_step_``); this class provides ``encode``, ``forward`` and ``lowpass_image``. Shapes: ``x: (B, C, H, W)``; ``w: (B, C·(1+J·L·A), H/2^J, W/2^J)``.

    Args:
        shape: ``(H, W)`` in pixels, divisible by ``2**J``. channels: ``C``. J, L, A: of the embedding.

    Raises:
        ValueError: from :class:`~gennet.transforms.Embedding2D` (``J`` too large, odd ``A``, …); from
            :meth:`encode`, images of the wrong shape.
    """

    def __init__(self, shape: tuple[int, int], channels: int, J: int, L: int = 8, A: int = 4) -> None:
        super().__init__()
        self.embedding = Embedding2D(shape, J, L, A)
        self.channels = int(channels)

    @property
    def rectified(self):
        return self.embedding.rectified

    @property
    def lowpass(self):
        return self.embedding.lowpass

    @property
    def embedding_shape(self) -> tuple[int, int, int]:
        """``(C·(1+J·L·A), H/2^J, W/2^J)``: the shape of one ``w``."""
        return (self.channels * self.lowpass.channels_per_input, *self.rectified.coarse_shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``w = Φ(x)``: ``(B, C, H, W) → (B, C·(1+J·L·A), H/2^J, W/2^J)``."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected images (B, {self.channels}, H, W), got {tuple(x.shape)}")
        return self.embedding(x)

    def decode(self, w: torch.Tensor, return_stats: bool = False):
        raise NotImplementedError

    def after_optimizer_step_(self) -> None:
        """What the decoder does after every optimizer step (a projection of its weights); nothing here."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``G(Φ(x))``: ``(B, C, H, W) → (B, C, H, W)``."""
        return self.decode(self.encode(x))

    def lowpass_image(self, w: torch.Tensor) -> torch.Tensor:
        """Baseline: the image seen by the low-pass channel of ``w`` alone (upsampled ``x ⋆ φ_J``), ``(B, C, H, W)``."""
        B, _, h, wdt = w.shape
        lowpass = w.reshape(B, self.channels, self.lowpass.channels_per_input, h, wdt)[:, :, 0]
        return self.rectified.upsample_lowpass(lowpass)


@dataclass
class CodeStatistics:
    """Batch means of what a skeptical reader checks first about the codes (detached 0-dim tensors).

    ``nonzeros_per_pixel``: ``‖z‖₀ / (C·H·W)``, nonzero code coefficients per image pixel (and channel);
    ``sparsity``: ``‖z‖₀ / (K·h·w)``, the fraction of code coefficients that are nonzero;
    ``support_size``: ``‖z‖₀`` per image; ``relative_residual``: ``‖w_band − Ãz̃‖ / ‖w_band‖``;
    ``duality_gap``: the relative duality gap ``(P − D)/P`` of the Lasso solved, at the returned code
    (:func:`~gennet.sparse.duality_gap.duality_gap`; 0 at the solution); ``lambda_star``: ``λ*``;
    ``atom_usage``: ``(K,)``, the number of nonzero coefficients of each atom, summed over the batch and
    the positions (a count, not a mean).
    """

    nonzeros_per_pixel: torch.Tensor
    sparsity: torch.Tensor
    support_size: torch.Tensor
    relative_residual: torch.Tensor
    duality_gap: torch.Tensor
    lambda_star: torch.Tensor
    atom_usage: torch.Tensor


class SparseInverseGenerator(EmbeddingInverse):
    """Generator that inverts ``Φ = L∘U`` through a sparse code, the solution of a Lasso, in a learned dictionary.

    **The Lasso solved.** ``w = Φ(x)`` splits into its low-pass channels ``w_low = x ⋆ φ_J`` (one per image
    channel; ``L`` is the identity there) and its band channels ``w_band`` (``C·J·L·A`` of them). ``w_low``
    goes to ``U⁻¹`` as it is; only ``w_band`` is coded. With ``Ã = (L∘D_band)·diag(1/‖a_k‖)`` the band part
    of ``A = L∘D`` with unit-norm columns ``a_k``, and ``λ_max(w) = max_{k,n} (Ãᵀ w_band)[k, n]`` (the
    smallest weight with a zero solution; ``max |·|`` for signed codes), the code solves, per image,

        z̃ = argmin_{z̃ ≥ 0}  ½‖w_band − Ã z̃‖² + λ*·λ_max(w)·‖z̃‖₁,      z[k] = z̃[k] / ‖a_k‖,

    (``z̃`` signed when ``positive=False``): ``λ*`` is relative to the largest correlation, ``0 < λ* < 1``
    (``λ* ≥ 1`` gives ``z = 0``). It is computed as ``λ_max · z̄`` with ``z̄`` the solution for the normalized
    input ``w_band / λ_max`` and weight ``λ*``, so decoding is exactly scale-covariant:
    ``G(c·w) = c·G(w)`` for ``c > 0``. Then ``x̃ = U⁻¹(w_low, D_band z)``.

    **Solvers** (``solver``, a :class:`~gennet.sparse.solver.LassoSolver` that holds ``λ*``, ``n_layers`` and
    ``positive``): :class:`~gennet.sparse.ADMM` (default, ``ADMM(lambda_star=0.2, n_layers=32)``) — ADMM
    iterations with the exact per-frequency solve of the convolutional Gram, the dictionary learned through the
    derivative of the Lasso solution (implicit differentiation, :mod:`gennet.sparse.implicit`);
    :class:`~gennet.sparse.ISTC` (Zarka et al.'s geometric ISTC) and :class:`~gennet.sparse.ActiveSetHomotopy`
    (pathwise homotopy) — unrolled layers, differentiated through. Every code comes with its certificate, the
    relative duality gap of the Lasso above (:class:`CodeStatistics`).

    Args:
        shape: ``(H, W)`` image size in pixels, divisible by ``2**J``.
        channels: ``C``, image channels.
        J, L, A: scales, orientations, phases of the encoder (A even ≥ 4).
        num_atoms: ``K``, number of atoms of ``D``.
        atom_size: atom support in coarse cells.
        solver: the Lasso solver; its ``lambda_star`` is the relative weight ``λ*`` (a fraction of ``λ_max``).
        seed: seed of the dictionary's random initialization.

    Shapes: ``x: (B, C, H, W)`` float32 in [−1, 1]; ``w: (B, C·(1+J·L·A), H/2^J, W/2^J)``;
    ``z: (B, K, H/2^J, W/2^J)``.

    Raises:
        ValueError: for ``2**J`` too large or not dividing the size, odd ``A``, ``λ* ≤ 0``, ``n_layers < 1``,
            ``num_atoms < 1``, an ``atom_size`` that does not fit, a ``solver`` that is not a ``LassoSolver``.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        channels: int,
        J: int,
        L: int = 8,
        A: int = 4,
        num_atoms: int = 64,
        atom_size: int = 2,
        solver: LassoSolver | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(shape, channels, J, L, A)
        if solver is None:
            solver = ADMM(lambda_star=0.2, n_layers=32, positive=True)
        if not isinstance(solver, LassoSolver):
            names = ", ".join(f"gennet.sparse.{cls.__name__}" for cls in SOLVERS.values())
            raise ValueError(f"solver must be a LassoSolver object ({names}), got {solver!r}")
        generator = torch.Generator().manual_seed(seed)
        self.dictionary = ConvDictionary(num_atoms, channels, shape, J, L, A, atom_size, generator=generator, lowpass=False)
        self.lasso = solver

    @property
    def positive(self) -> bool:
        return self.lasso.positive

    @property
    def num_atoms(self) -> int:
        """``K``, the number of atoms of ``D``."""
        return self.dictionary.K

    def split(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``w: (B, C·(1+JLA), h, w)`` → ``(w_low: (B, C, h, w), w_band: (B, C·JLA, h, w))``."""
        B, _, h, wd = w.shape
        blocks = w.reshape(B, self.channels, self.lowpass.channels_per_input, h, wd)
        return blocks[:, :, 0], blocks[:, :, 1:].reshape(B, -1, h, wd)

    def operator(self) -> tuple[CoarseConvOperator, torch.Tensor]:
        """``(Ã, column_norms)``: the band part of ``A = L∘D`` with unit-norm columns, and the norms ``‖a_k‖`` ``(K,)``."""
        kernel, norms = unit_columns(self.dictionary.coarse_kernel(self.lowpass), 1e-12)
        return CoarseConvOperator(kernel), norms

    def lasso_problem(self, w: torch.Tensor, return_correlation: bool = False):
        """The normalized Lasso of the class docstring for embeddings ``w``: ``(ȳ, Ã, norms, scale)``.

        ``ȳ = w_band / λ_max(w)``: ``(B, C·JLA, h, w)`` (0 where ``λ_max ≤ 0``, whose solution is 0);
        ``Ã``, ``norms``: :meth:`operator`; ``scale``: ``λ_max(w)`` as ``(B, 1, 1, 1)`` (1 where ``λ_max ≤ 0``).
        The code is ``z = scale · z̄ / norms`` with ``z̄`` the solution for ``(ȳ, Ã, λ*)``.
        ``return_correlation``: also ``Ãᵀȳ`` (detached), computed here anyway.
        """
        _, band = self.split(w)
        op, norms = self.operator()
        correlation = op.adjoint(band)  # Ãᵀ w_band: λ_max and, rescaled, the solver's Ãᵀȳ
        # λ_max(w) as (B, 1, 1, 1), without the floor at 0: a λ_max ≤ 0 is replaced by 1 below anyway
        scale = max_correlation(correlation, self.positive, keepdim=True, floor=False)
        live = scale > 0  # λ_max = 0: the zero code is the solution
        scale = torch.where(live, scale, 1.0)
        y = torch.where(live, band / scale, 0.0)
        if not return_correlation:
            return y, op, norms, scale
        with torch.no_grad():
            aty = torch.where(live, correlation / scale, 0.0)
        return y, op, norms, scale, aty

    def sparse_code(self, w: torch.Tensor, return_stats: bool = False):
        """The code ``z: (B, K, h, w)`` of ``D`` for embeddings ``w`` (and :class:`CodeStatistics`)."""
        y, op, norms, scale, aty = self.lasso_problem(w, return_correlation=True)
        if return_stats:
            z_bar, certificate = self.lasso(y, op, aty=aty, certificate=True)
        else:
            z_bar = self.lasso(y, op, aty=aty)
        z = z_bar * (scale / norms.view(1, -1, 1, 1))
        if not return_stats:
            return z
        with torch.no_grad():
            lam = self.lasso.lambda_star.detach().to(y.dtype)
            used = z_bar != 0
            nonzeros = used.sum((1, 2, 3), dtype=y.dtype)
            mean = nonzeros.mean()
            stats = CodeStatistics(
                nonzeros_per_pixel=mean / (self.channels * self.rectified.H * self.rectified.W),
                sparsity=mean / z_bar[0].numel(),
                support_size=mean,
                relative_residual=certificate.relative_residual.mean(),
                duality_gap=certificate.gap.mean(),
                lambda_star=lam,
                atom_usage=used.sum((0, 2, 3), dtype=y.dtype),
            )
        return z, stats

    def synthesize(self, z: torch.Tensor, lowpass: torch.Tensor) -> torch.Tensor:
        """``x̃ = U⁻¹(w_low, D_band z)``: codes ``(B, K, h, w)`` and low-pass channels ``(B, C, h, w)`` → ``(B, C, H, W)``."""
        return self.rectified.inverse(WaveletCoefficients(lowpass, self.dictionary(z).bands))

    def decode(self, w: torch.Tensor, return_stats: bool = False):
        """``G(w) = U⁻¹(w_low, D z(w_band))``: ``(B, C·(1+JLA), h, w) → (B, C, H, W)`` (and :class:`CodeStatistics`)."""
        lowpass, _ = self.split(w)
        if return_stats:
            z, stats = self.sparse_code(w, return_stats=True)
            return self.synthesize(z, lowpass), stats
        return self.synthesize(self.sparse_code(w), lowpass)

    @torch.no_grad()
    def atom_images(self, max_atoms: int | None = None, crop: bool = True) -> torch.Tensor:
        """The atoms of ``D`` in image space: ``U⁻¹(0, D e_k)`` for a unit code at the central coarse cell.

        Returns ``(K', C, s, s)`` for the first ``K' = min(K, max_atoms)`` atoms ("patterns stored in D",
        seed 001): the multiscale wavelet patterns the sparse code combines. ``crop``: the central
        ``s = min(H, W, 2·atom_size·2^J)`` pixels (the atom's support and the wavelets' spread), else the
        whole ``H × W`` image.
        """
        K_all = self.dictionary.K
        K = K_all if max_atoms is None else min(K_all, max_atoms)
        h, w = self.rectified.coarse_shape
        device = self.dictionary.band_atoms[0].device
        z = torch.zeros(K, K_all, h, w, device=device)
        z[torch.arange(K), torch.arange(K), h // 2, w // 2] = 1.0
        images = self.synthesize(z, z.new_zeros(K, self.channels, h, w))
        if not crop:
            return images
        H, W = images.shape[-2:]
        side = min(H, W, 2 * self.dictionary.atom_size * 2**self.rectified.J)
        top, left = (H - side) // 2, (W - side) // 2
        return images[..., top : top + side, left : left + side]

    @torch.no_grad()
    def normalize_atoms_(self) -> None:
        """Unit ℓ2 norm for every atom of ``D`` (after each optimizer step)."""
        self.dictionary.normalize_()

    def after_optimizer_step_(self) -> None:
        """Atoms back on the unit sphere (DESIGN §4): called by the trainer after every optimizer step."""
        self.normalize_atoms_()

    @torch.no_grad()
    def init_atoms_from_data_(
        self, images: torch.Tensor, generator: torch.Generator, atoms: torch.Tensor | None = None, residual: bool = False
    ) -> None:
        """Atoms (all, or the indices ``atoms: (k,)`` long) from patches of ``U x`` of ``images: (B, C, H, W)`` — or, with
        ``residual``, of what the current code leaves out, ``U x − D z`` — drawn with ``generator``
        (:meth:`~gennet.sparse.dictionary.ConvDictionary.init_from_coefficients_`)."""
        coeffs = self.rectified(images)
        if residual:
            coded = self.dictionary(self.sparse_code(self.encode(images)))
            coeffs = coeffs._replace(bands=tuple(b - d for b, d in zip(coeffs.bands, coded.bands)))
        self.dictionary.init_from_coefficients_(coeffs, generator, atoms=atoms)
