"""What an exact inverse lets one see: reconstruction from the last layer, interpolations and editions in the final
representation, and the conditioning of the local inverse (DESIGN §14; Jacobsen, Smeulders & Oyallon, ICLR 2018,
§4 and §5; seed 004, "Edition in invertible architectures").

The functions take any *invertible classifier*: a module with ``features(x)`` (images ``(B, C, H, W)`` → the final
representation ``Φ(x)``), ``inverse(z)`` (``Φ⁻¹``) and ``head(z)`` (``Φ(x)`` → logits), such as
:class:`~gennet.models.IRevNet`, in eval mode (so that ``Φ`` is one fixed function of each image).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["is_invertible", "reconstruction_error", "interpolate", "class_means", "Edition", "edit_toward",
           "local_conditioning"]


def is_invertible(network: nn.Module) -> bool:
    """Whether ``network`` has ``features``, ``inverse`` and ``head`` (the protocol of this module)."""
    return all(callable(getattr(network, name, None)) for name in ("features", "inverse", "head"))


@torch.no_grad()
def reconstruction_error(network: nn.Module, x: Tensor) -> dict[str, float]:
    """``Φ⁻¹(Φ(x))`` against ``x`` ``(B, C, H, W)``: ``max_abs`` = max |x − Φ⁻¹Φx| over every value, ``max_relative``
    = max over images of ‖x − Φ⁻¹Φx‖ / ‖x‖, and the sizes ``input_values`` / ``feature_values`` of one image and of
    its representation (equal for a bijective network)."""
    z = network.features(x)
    error = network.inverse(z) - x
    relative = error.flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1).clamp_min(torch.finfo(x.dtype).tiny)
    return {"max_abs": error.abs().max().item(), "max_relative": relative.max().item(),
            "input_values": x[0].numel(), "feature_values": z[0].numel(), "images": x.shape[0]}


@torch.no_grad()
def interpolate(network: nn.Module, x_a: Tensor, x_b: Tensor, steps: int = 8) -> tuple[Tensor, Tensor]:
    """Straight lines between final representations, inverted (paper §5, Fig. 7), and the same line in pixels.

    ``x_a``, ``x_b``: ``(P, C, H, W)``. Returns ``(through_features, through_pixels)``, each ``(P, steps, C, H, W)``:
    ``Φ⁻¹((1 − t)Φ(x_a) + tΦ(x_b))`` and ``(1 − t)x_a + t x_b`` for ``t = 0, 1/(steps−1), …, 1``. The endpoints
    of the first are ``x_a`` and ``x_b`` up to the inverse's rounding.

    Raises:
        ValueError: ``steps`` < 2, or ``x_a`` and ``x_b`` of different shapes.
    """
    if steps < 2 or x_a.shape != x_b.shape:
        raise ValueError(f"need steps >= 2 and two batches of the same shape, got {steps}, {tuple(x_a.shape)}, {tuple(x_b.shape)}")
    t = torch.linspace(0, 1, steps, dtype=x_a.dtype, device=x_a.device).reshape(1, steps, 1, 1, 1)
    z_a, z_b = network.features(x_a), network.features(x_b)
    z = (1 - t) * z_a[:, None] + t * z_b[:, None]
    images = network.inverse(z.flatten(0, 1)).unflatten(0, (x_a.shape[0], steps))
    return images, (1 - t) * x_a[:, None] + t * x_b[:, None]


@torch.no_grad()
def class_means(network: nn.Module, batches, num_classes: int) -> Tensor:
    """Mean final representation of each class, ``(num_classes, *feature_shape)`` float64, from ``(x, y)`` batches.

    Raises:
        ValueError: a class without images.
    """
    sums, counts = None, torch.zeros(num_classes, dtype=torch.float64)
    for x, y in batches:
        z = network.features(x).double().cpu()
        sums = torch.zeros(num_classes, *z.shape[1:], dtype=torch.float64) if sums is None else sums
        sums.index_add_(0, y.cpu(), z)
        counts += torch.bincount(y.cpu(), minlength=num_classes).double()
    if sums is None or bool((counts == 0).any()):
        raise ValueError(f"every class needs images; counts per class: {counts.long().tolist()}")
    return sums / counts.reshape(-1, *([1] * (sums.ndim - 1)))


@dataclass(frozen=True)
class Edition:
    """Result of :func:`edit_toward` for ``P`` (image, target class) pairs.

    ``images`` ``(P, C, H, W)``: the edited images (at the first ``α`` that flips, else at the largest);
    ``alpha`` ``(P,)``: that ``α`` (``nan`` where none did); ``flipped`` ``(P,)`` bool: the *edited image*, encoded
    again, is classified as the target; ``flipped_features`` ``(P,)`` bool: the head gives the target on the edited
    representation itself; ``predicted`` ``(P,)``: the class of each edited image; ``change`` ``(P,)``:
    ``‖x' − x‖ / ‖x‖``.
    """

    images: Tensor
    alpha: Tensor
    flipped: Tensor
    flipped_features: Tensor
    predicted: Tensor
    change: Tensor


@torch.no_grad()
def edit_toward(network: nn.Module, x: Tensor, source: Tensor, target: Tensor, means: Tensor,
                alphas: Tensor | None = None) -> Edition:
    """Edit images by moving their final representation toward another class and inverting (seed 004, "edition in
    invertible architectures"): ``z_α = Φ(x) + α (μ_target − μ_source)`` with ``μ`` the class means of ``Φ``
    (:func:`class_means`), ``x' = Φ⁻¹(z_α)``, for increasing ``α`` until ``network(x')`` predicts the target.

    ``x`` ``(P, C, H, W)``, ``source``/``target`` ``(P,)`` class indices, ``means`` ``(K, *feature_shape)``,
    ``alphas`` increasing (default ``0.05, 0.10, …, 2``). For an injective network ``z_α`` leaves the range of
    ``Φ``, so the edited image is encoded again before it is classified (``flipped``); ``flipped_features`` is the
    head's answer on ``z_α`` itself.
    """
    alphas = torch.arange(1, 41, dtype=torch.float64) / 20 if alphas is None else alphas.double()
    z = network.features(x)
    direction = (means[target] - means[source]).to(z)
    P = x.shape[0]
    best = x.clone()
    alpha = torch.full((P,), float("nan"), dtype=torch.float64)
    flipped = torch.zeros(P, dtype=torch.bool)
    flipped_features = torch.zeros(P, dtype=torch.bool)
    predicted = torch.full((P,), -1, dtype=torch.long)
    target_cpu = target.cpu()
    for a in alphas.tolist():
        open_ = ~flipped
        if not bool(open_.any()):
            break
        z_a = z[open_] + a * direction[open_]
        images = network.inverse(z_a)
        label = network(images).argmax(1).cpu()
        hit_features = network.head(z_a).argmax(1).cpu() == target_cpu[open_]
        rows = open_.nonzero()[:, 0]
        best[rows.to(x.device)] = images
        predicted[rows] = label
        hit = label == target_cpu[open_]
        alpha[rows[hit]] = a
        flipped[rows[hit]] = True
        flipped_features[rows] |= hit_features
    change = (best - x).flatten(1).norm(dim=1).cpu() / x.flatten(1).norm(dim=1).cpu()
    return Edition(best, alpha, flipped, flipped_features, predicted, change)


def _top_singular_value(f, x: Tensor, n_iter: int, seed: int) -> Tensor:
    """``σ_max`` of the Jacobian of ``f`` at each sample of ``x`` (``f`` treats samples independently): power
    iteration on ``JᵀJ`` per sample, ``J v`` by forward-mode and ``Jᵀ u`` by reverse-mode differentiation."""
    from torch.func import jvp, vjp

    _, pullback = vjp(f, x)
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype).to(x.device)
    shape = (-1,) + (1,) * (x.ndim - 1)
    sigma = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for _ in range(n_iter):
        v = v / v.flatten(1).norm(dim=1).reshape(shape)
        _, Jv = jvp(f, (x,), (v,))
        sigma = Jv.flatten(1).norm(dim=1)
        (v,) = pullback(Jv)
    return sigma


def local_conditioning(network: nn.Module, x: Tensor, n_iter: int = 50, seed: int = 0) -> dict[str, Tensor]:
    """The local conditioning of ``Φ`` at test points (paper §4: "the local inversion is ill-conditioned").

    For each image of ``x`` ``(B, C, H, W)``: ``σ_max(∂Φ(x))``, ``σ_max(∂Φ⁻¹(Φ(x)))`` and their product ``κ``, by
    ``n_iter`` power iterations each (estimates from below). Since ``∂Φ⁻¹ ∂Φ = I``, ``κ ≥ 1``; ``κ = 1`` for an
    orthogonal ``Φ`` (e.g. ``ψ`` alone). Returns ``{"sigma_forward", "sigma_inverse", "kappa"}``, each ``(B,)``.
    """
    with torch.no_grad():
        z = network.features(x)
    forward = _top_singular_value(network.features, x, n_iter, seed)
    inverse = _top_singular_value(network.inverse, z, n_iter, seed + 1)
    return {"sigma_forward": forward.detach(), "sigma_inverse": inverse.detach(), "kappa": (forward * inverse).detach()}
