"""Margins of a classifier along subspaces of its input space, by subspace DeepFool (DESIGN §15).

Ortiz-Jiménez, Modas, Moosavi-Dezfooli & Frossard, "Hold me tight! Influence of discriminative features on deep
network boundaries", NeurIPS 2020 (reference code ``LTS4/hold-me-tight``, ``utils.py``): the minimal ℓ2
perturbation inside a subspace ``S = span(P)`` that changes the decision,

    δ_S(x) = argmin_{δ ∈ S} ‖δ‖₂  s.t.  F(x + δ) ≠ F(x),       margin  = ‖δ_S(x)‖₂   (Definitions 1–2),

found by DeepFool (Moosavi-Dezfooli, Fawzi & Frossard, CVPR 2016) with every gradient projected on ``S``:
at ``x + r``, for each class ``k ≠ ŷ``, ``w_k = ∇f_k − ∇f_ŷ`` and ``f'_k = f_k − f_ŷ``; the nearest linearized
boundary ``l = argmin_k |f'_k| / ‖Pᵀw_k‖`` gives the step ``r ← r + max(|f'_l| / ‖Pᵀw_l‖, 10⁻⁴) · PPᵀw_l / ‖PPᵀw_l‖``,
until ``F(x + (1 + overshoot) r) ≠ ŷ``. For an affine classifier the first step is exact: ``‖r‖`` is the
distance from ``x`` to the nearest boundary within ``S``. The subspaces: ``8×8`` blocks of DCT atoms along the
diagonal of the DCT plane (low to high frequencies, §3.1), a random subspace of the same dimension (control),
and the whole space. ``P`` has orthonormal columns.

Beside each margin, the radius certified by a Lipschitz bound ``L`` of the logits (ℓ2 → ℓ2): no perturbation of
norm below ``(f_y − max_{k≠y} f_k) / (√2 L)`` changes the decision (Tsuzuku, Sato & Sugiyama, NeurIPS 2018,
Proposition 1), with ``L`` from :func:`~gennet.analysis.lipschitz_upper_bound`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..transforms.dct import dct_matrix

__all__ = ["DeepFoolResult", "subspace_deepfool", "dct_block_basis", "diagonal_dct_subspaces", "random_subspace",
           "certified_radius", "library_deepfool"]


def dct_block_basis(shape: tuple[int, int, int], start: tuple[int, int], size: int = 8) -> Tensor:
    """Orthonormal basis ``(C·H·W, C·size²)`` float32 of the images whose DCT (:func:`gennet.transforms.dct.dct2`)
    is supported on the block ``[start₀, start₀ + size) × [start₁, start₁ + size)`` of every channel.

    Raises:
        ValueError: the block does not fit in ``(H, W)``.
    """
    C, H, W = shape
    if not (0 <= start[0] and start[0] + size <= H and 0 <= start[1] and start[1] + size <= W):
        raise ValueError(f"a {size}x{size} DCT block at {tuple(start)} does not fit in {H}x{W} images")
    rows = dct_matrix(H, torch.float64)[start[0] : start[0] + size]  # (size, H): the cosine atoms
    cols = dct_matrix(W, torch.float64)[start[1] : start[1] + size]
    atoms = torch.einsum("ai,bj->abij", rows, cols).reshape(size * size, H * W)  # (size², H·W), orthonormal rows
    basis = torch.block_diag(*[atoms] * C)  # channels independent
    return basis.T.to(torch.float32).contiguous()


def diagonal_dct_subspaces(shape: tuple[int, int, int], size: int = 8, step: int | None = None) -> list[tuple[str, Tensor]]:
    """``[(name, basis)]``: the ``size×size`` DCT blocks at ``(s, s)``, ``s = 0, step, 2·step, …`` along the diagonal
    (Ortiz-Jiménez et al.: ``size = 8``, ``step = 1`` on MNIST); ``step`` defaults to ``size`` (disjoint blocks).
    Names read ``"dct[s:s+size]"``."""
    C, H, W = shape
    step = size if step is None else step
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    return [(f"dct[{s}:{s + size}]", dct_block_basis(shape, (s, s), size)) for s in range(0, min(H, W) - size + 1, step)]


def random_subspace(dimension: int, rank: int, seed: int = 0) -> Tensor:
    """Orthonormal basis ``(dimension, rank)`` float32 of a subspace drawn uniformly at random (QR of a Gaussian matrix)."""
    if not 1 <= rank <= dimension:
        raise ValueError(f"rank must be in [1, {dimension}], got {rank}")
    gaussian = torch.randn(dimension, rank, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return torch.linalg.qr(gaussian).Q.to(torch.float32)


@dataclass(frozen=True)
class DeepFoolResult:
    """Per image: ``perturbation`` ``r`` ``(B, C, H, W)`` (the boundary point is ``x + r``; ``x + (1 + overshoot) r``
    is classified differently when ``flipped``), ``margin = ‖r‖₂`` ``(B,)``, ``flipped`` bool ``(B,)``
    (False: ``max_iter`` was reached — the margin is then a lower estimate), ``iterations`` ``(B,)`` int,
    ``label`` ``(B,)``: the class predicted at ``x``."""

    perturbation: Tensor
    margin: Tensor
    flipped: Tensor
    iterations: Tensor
    label: Tensor


def _project(gradient: Tensor, basis: Tensor | None) -> tuple[Tensor, Tensor]:
    """``(PPᵀg, ‖Pᵀg‖)`` for flattened gradients ``(B, D)``."""
    if basis is None:
        return gradient, gradient.norm(dim=1)
    coefficients = gradient @ basis
    return coefficients @ basis.T, coefficients.norm(dim=1)


def subspace_deepfool(
    f: Callable[[Tensor], Tensor],
    x: Tensor,
    basis: Tensor | None = None,
    overshoot: float = 0.02,
    max_iter: int = 50,
    candidates: int | None = None,
) -> DeepFoolResult:
    """Subspace DeepFool (Ortiz-Jiménez et al. 2020, Algorithm 1) on a batch, images not clipped to a box.

    Args:
        f: the classifier, ``(B, C, H, W)`` → logits ``(B, K)``, each sample independently (eval mode).
        x: images ``(B, C, H, W)``.
        basis: ``P`` ``(C·H·W, d)`` with orthonormal columns (:func:`dct_block_basis`, :func:`random_subspace`);
            ``None``: the whole space.
        overshoot: the step past the boundary used to check the flip (the paper's 0.02); the returned margin
            is ``‖r‖``, without it.
        max_iter: iterations at most.
        candidates: only the ``candidates`` classes with the largest logits at ``x`` are considered as targets
            (as ART's ``nb_grads``); ``None``: all ``K − 1`` others.

    Returns:
        :class:`DeepFoolResult`.

    Raises:
        ValueError: ``basis`` whose rows do not match ``C·H·W``, ``max_iter < 1`` or ``candidates < 2``.
    """
    B, D = x.shape[0], x[0].numel()
    if basis is not None and basis.shape[0] != D:
        raise ValueError(f"basis has {basis.shape[0]} rows, the images {D} entries")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    x = x.detach()
    basis = None if basis is None else basis.to(x.device, x.dtype)
    with torch.no_grad():
        logits = f(x)
    label = logits.argmax(1)
    K = logits.shape[1]
    if candidates is not None and not 2 <= candidates:
        raise ValueError(f"candidates must be >= 2, got {candidates}")
    classes = logits.argsort(1, descending=True)[:, : (K if candidates is None else min(candidates, K))]  # (B, n), ŷ first
    r = torch.zeros_like(x)
    flipped = torch.zeros(B, dtype=torch.bool, device=x.device)
    iterations = torch.zeros(B, dtype=torch.long, device=x.device)
    active = torch.arange(B, device=x.device)
    for _ in range(max_iter):
        if active.numel() == 0:
            break
        point = (x[active] + r[active]).requires_grad_(True)
        with torch.enable_grad():
            out = f(point)
            chosen = out.gather(1, classes[active])  # (b, n), column 0 is ŷ
            grads = [torch.autograd.grad(chosen[:, j].sum(), point, retain_graph=j < chosen.shape[1] - 1)[0].flatten(1)
                     for j in range(chosen.shape[1])]
        grads = torch.stack(grads, 1)  # (b, n, D)
        w = grads[:, 1:] - grads[:, :1]
        f_diff = (chosen[:, 1:] - chosen[:, :1]).detach().abs()
        b, n1 = w.shape[:2]
        projected, norms = _project(w.reshape(b * n1, D), basis)
        ratio = f_diff / norms.reshape(b, n1).clamp_min(1e-12)
        best = ratio.argmin(1)
        rows = torch.arange(b, device=x.device)
        direction = projected.reshape(b, n1, D)[rows, best]
        step = ratio[rows, best].clamp_min(1e-4) / direction.norm(dim=1).clamp_min(1e-12)
        r[active] += (step[:, None] * direction).reshape(-1, *x.shape[1:])
        iterations[active] += 1
        with torch.no_grad():
            moved = f(x[active] + (1 + overshoot) * r[active]).argmax(1) != label[active]
        flipped[active] = moved
        active = active[~moved]
    margin = r.flatten(1).norm(dim=1)
    return DeepFoolResult(r, margin, flipped, iterations, label)


def certified_radius(logits: Tensor, labels: Tensor, lipschitz: float) -> Tensor:
    """``max(0, f_y − max_{k≠y} f_k) / (√2 · L)`` ``(B,)``: an ℓ2 ball of this radius around each input holds no input
    of another class (Tsuzuku et al. 2018, Prop. 1); 0 for a misclassified input.

    Raises:
        ValueError: ``lipschitz <= 0``.
    """
    if not lipschitz > 0:
        raise ValueError(f"the Lipschitz bound must be > 0, got {lipschitz}")
    true = logits.gather(1, labels[:, None])[:, 0]
    others = logits.scatter(1, labels[:, None], float("-inf")).max(1).values
    return (true - others).clamp_min(0) / (math.sqrt(2) * lipschitz)


def library_deepfool(f: torch.nn.Module, x: Tensor, num_classes: int, max_iter: int = 50) -> Tensor:
    """Full-space DeepFool margins ``‖x_adv − x‖₂`` ``(B,)`` from the Adversarial Robustness Toolbox (ART's
    ``DeepFool`` on a ``PyTorchClassifier``, no clipping, overshoot 10⁻⁶) — the reference our
    :func:`subspace_deepfool` with ``basis=None`` is checked against.

    Raises:
        ModuleNotFoundError: ART is not installed (``pip install 'gennet[analysis]'``).
    """
    try:
        from art.attacks.evasion import DeepFool
        from art.estimators.classification import PyTorchClassifier
    except ModuleNotFoundError:
        raise ModuleNotFoundError("the reference DeepFool needs the Adversarial Robustness Toolbox: "
                                  "pip install 'gennet[analysis]'") from None
    import logging

    logging.getLogger("art").setLevel(logging.ERROR)
    classifier = PyTorchClassifier(f, loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]),
                                   nb_classes=num_classes, clip_values=None, device_type="cpu")
    attack = DeepFool(classifier, max_iter=max_iter, epsilon=1e-6, nb_grads=num_classes, batch_size=len(x), verbose=False)
    adversarial = torch.from_numpy(attack.generate(x.detach().cpu().numpy()))
    return (adversarial - x.detach().cpu()).flatten(1).norm(dim=1)
