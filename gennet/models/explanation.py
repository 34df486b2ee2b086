"""An image explained by its sparse code: the terms ``z_k[n]·U⁻¹(0, D e_{k,n})`` the decoder adds up (DESIGN §6b).

The sparse decoder is linear once the code is known (seed 001: "interpretable network: patterns stored in
D"): ``G(w) = U⁻¹(w_low, 0) + Σ_{(k,n) ∈ supp z} z_k[n] · U⁻¹(0, D e_{k,n})``, one term per nonzero code
coefficient — atom ``k`` placed at coarse position ``n`` with weight ``z_k[n]``. Ranking the terms by
their energy ``‖term‖²`` and adding them in that order gives partial reconstructions that show what each
atom contributes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .generator import SparseInverseGenerator

__all__ = ["CodeExplanation", "explain_code"]


@dataclass
class CodeExplanation:
    """One image and the terms of its code, sorted by decreasing energy (``T`` = nonzero coefficients).

    Attributes:
        image: ``(C, H, W)`` the input ``x``. reconstruction: ``(C, H, W)`` ``G(Φ(x))``.
        lowpass_part: ``(C, H, W)`` ``U⁻¹(w_low, 0)``, what the low-pass channel alone synthesizes.
        terms: ``(T, C, H, W)`` ``z_k[n]·U⁻¹(0, D e_{k,n})``. atoms: ``(T,)`` ``k``. rows, cols: ``(T,)``
            coarse position ``n`` (cells of ``2^J`` pixels). weights: ``(T,)`` ``z_k[n]``.
        energy: ``(T,)`` ``‖term‖²`` (squared ℓ2 norm in image space, images in [−1, 1]).
    """

    image: torch.Tensor
    reconstruction: torch.Tensor
    lowpass_part: torch.Tensor
    terms: torch.Tensor
    atoms: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    weights: torch.Tensor
    energy: torch.Tensor

    def partial(self, m: int) -> torch.Tensor:
        """``U⁻¹(w_low, 0) +`` the ``m`` most energetic terms: ``(C, H, W)`` (``m ≥ T``: the reconstruction)."""
        return self.lowpass_part + self.terms[:m].sum(0)


@torch.no_grad()
def explain_code(generator: SparseInverseGenerator, x: torch.Tensor, batch_size: int = 256) -> CodeExplanation:
    """Decompose ``G(Φ(x))`` for one image ``x: (C, H, W)`` into the terms of its sparse code.

    Raises:
        ValueError: ``x`` not of the generator's ``(C, H, W)`` shape.
    """
    if x.dim() != 3:
        raise ValueError(f"expected one image (C, H, W), got shape {tuple(x.shape)}")
    w = generator.encode(x[None])
    lowpass, _ = generator.split(w)
    z = generator.sparse_code(w)[0]  # (K, h, w)
    atoms, rows, cols = z.nonzero(as_tuple=True)
    weights = z[atoms, rows, cols]
    lowpass_part = generator.synthesize(torch.zeros_like(z)[None], lowpass)[0]
    terms = []
    zero_low = torch.zeros_like(lowpass)
    for start in range(0, len(weights), batch_size):
        stop = start + batch_size
        one_hot = torch.zeros(len(weights[start:stop]), *z.shape, dtype=z.dtype, device=z.device)
        one_hot[torch.arange(len(one_hot)), atoms[start:stop], rows[start:stop], cols[start:stop]] = weights[start:stop]
        terms.append(generator.synthesize(one_hot, zero_low.expand(len(one_hot), -1, -1, -1)))
    terms = torch.cat(terms) if terms else x.new_zeros(0, *x.shape)
    energy = terms.flatten(1).pow(2).sum(1)
    order = energy.argsort(descending=True)
    return CodeExplanation(
        image=x, reconstruction=generator.decode(w)[0], lowpass_part=lowpass_part, terms=terms[order],
        atoms=atoms[order], rows=rows[order], cols=cols[order], weights=weights[order], energy=energy[order],
    )
