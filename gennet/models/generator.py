"""The sparse-inverse generator ``G(w) = U⁻¹ D HISTA(w; L∘D)`` (DESIGN §6).

Path of one image (STYLE.md): ``x ─U─▶ U x ─L─▶ w = Φ(x) ─HISTA(A = L∘D)─▶ z ─D─▶ D z ─U⁻¹─▶ x̃``.
This module only wires the pieces: the fixed embedding (``transforms``), the learned dictionary and
the unrolled homotopy ISTA (``sparse``).

Source: S. Mallat, "Interpretable deep neural networks" (seed 001, "Generation as an inverse
problem", T. Angles & F. Guth); J. Zarka et al., ICLR 2020 (homotopy ISTC).
"""

from __future__ import annotations

import torch

from ..sparse.dictionary import ConvDictionary, CoarseConvOperator
from ..sparse.homotopy import HomotopyISTA
from .embedding_inverse import EmbeddingInverse

__all__ = ["SparseInverseGenerator"]


class SparseInverseGenerator(EmbeddingInverse):
    """Generator that inverts ``Φ = L∘U`` through a sparse code in a learned convolutional dictionary.

    ``encode(x) = Φ(x)``; ``decode(w)`` solves the Lasso ``min_z ½‖w − Ã z‖² + λ*‖z‖₁`` (``z ≥ 0`` when
    ``positive``) with ``n_layers`` unrolled homotopy-ISTA layers, where ``Ã = A·diag(1/‖a_k‖)`` is
    ``A = L∘D`` with columns normalized (so λ* has the same meaning whatever the atoms' low-pass
    energy: a weighted ℓ1 penalty ``λ* Σ_k ‖a_k‖ |z_k|`` on the code of ``D``), then synthesizes
    ``x̃ = U⁻¹ D z``. Only the dictionary (and λ* when ``learn_lambda``) are learned.

    Args:
        shape: ``(H, W)`` image size in pixels, divisible by ``2**J``.
        channels: ``C``, image channels.
        J, L, A: scales, orientations, phases of the encoder (A even ≥ 4).
        num_atoms: ``K``, number of atoms of ``D``.
        n_layers: unrolled homotopy layers ``N ≥ 1``.
        lambda_star: final Lasso weight ``λ* > 0``.
        atom_size: atom support in coarse cells.
        positive: non-negative codes.
        learn_lambda: learn ``log λ*``.
        hista_method: ``"istc"`` (default; Zarka et al.'s geometric ISTC, cheapest per layer, the usual
            choice for training end to end) or ``"active_set"`` (accurate Lasso solutions, ~4× the cost);
            see :func:`~gennet.sparse.homotopy_ista`.
        seed: seed of the dictionary's random initialization.
        checkpoint_layers: activation checkpointing of the unrolled layers (``istc`` only): less memory
            for training, one extra ``(A, Aᵀ)`` pass per layer; same values and gradients.

    Shapes: ``x: (B, C, H, W)`` float32 in [−1, 1]; ``w: (B, C·(1+J·L·A), H/2^J, W/2^J)``;
    ``z: (B, K, H/2^J, W/2^J)``.

    Raises:
        ValueError: for ``2**J`` too large or not dividing the size, odd ``A``, ``λ* ≤ 0``, ``n_layers < 1``,
            ``num_atoms < 1`` or an ``atom_size`` that does not fit.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        channels: int,
        J: int,
        L: int = 8,
        A: int = 4,
        num_atoms: int = 256,
        n_layers: int = 12,
        lambda_star: float = 0.05,
        atom_size: int = 2,
        positive: bool = True,
        learn_lambda: bool = False,
        hista_method: str = "istc",
        seed: int = 0,
        checkpoint_layers: bool = False,
    ) -> None:
        super().__init__(shape, channels, J, L, A)
        generator = torch.Generator().manual_seed(seed)
        self.dictionary = ConvDictionary(num_atoms, channels, shape, J, L, A, atom_size, generator=generator)
        self.hista = HomotopyISTA(
            lambda_star=lambda_star, n_layers=n_layers, positive=positive, learn_lambda=learn_lambda, method=hista_method,
            checkpoint_layers=checkpoint_layers,
        )

    def operator(self) -> tuple[CoarseConvOperator, torch.Tensor]:
        """``(Ã, column_norms)``: the column-normalized ``A = L∘D`` and the norms ``‖a_k‖`` ``(K,)``."""
        kernel = self.dictionary.coarse_kernel(self.lowpass)
        norms = kernel.flatten(1).norm(dim=1).clamp_min(1e-12)
        return CoarseConvOperator(kernel / norms.view(-1, 1, 1, 1)), norms

    def sparse_code(self, w: torch.Tensor, return_stats: bool = False):
        """The code ``z: (B, K, h, w)`` of ``D`` for embeddings ``w`` (and :class:`~gennet.sparse.HomotopyStats`)."""
        op, norms = self.operator()
        out = self.hista(w, op, return_stats=return_stats)
        z_tilde, stats = out if return_stats else (out, None)
        z = z_tilde / norms.view(1, -1, 1, 1)
        # The statistics of z̃ are those of z: same support, and Ã z̃ = A z.
        return (z, stats) if return_stats else z

    def synthesize(self, z: torch.Tensor) -> torch.Tensor:
        """``x̃ = U⁻¹ D z``: codes ``(B, K, h, w)`` → images ``(B, C, H, W)``."""
        return self.rectified.inverse(self.dictionary(z))

    def decode(self, w: torch.Tensor, return_stats: bool = False):
        """``G(w) = U⁻¹ D HISTA(w)``: ``(B, C·(1+JLA), h, w) → (B, C, H, W)`` (and :class:`~gennet.sparse.HomotopyStats`)."""
        if return_stats:
            z, stats = self.sparse_code(w, return_stats=True)
            return self.synthesize(z), stats
        return self.synthesize(self.sparse_code(w))

    @torch.no_grad()
    def atom_images(self, max_atoms: int | None = None, crop: bool = True) -> torch.Tensor:
        """The atoms of ``D`` in image space: ``U⁻¹ D e_k`` for a unit code at the central coarse cell.

        Returns ``(K', C, s, s)`` for the first ``K' = min(K, max_atoms)`` atoms ("patterns stored in D",
        seed 001): the multiscale wavelet patterns the sparse code combines. ``crop``: the central
        ``s = min(H, W, 2·atom_size·2^J)`` pixels (the atom's support and the wavelets' spread), else the
        whole ``H × W`` image.
        """
        K_all = self.dictionary.K
        K = K_all if max_atoms is None else min(K_all, max_atoms)
        h, w = self.rectified.coarse_shape
        device = next(self.dictionary.parameters()).device
        z = torch.zeros(K, K_all, h, w, device=device)
        z[torch.arange(K), torch.arange(K), h // 2, w // 2] = 1.0
        images = self.synthesize(z)
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
