"""Accuracy under first-order adversarial attacks, from captum (DESIGN §15).

- **FGSM** (Goodfellow, Shlens & Szegedy, ICLR 2015): ``x' = x + ε sign(∇ₓ ℓ(f(x), y))`` — ℓ∞ only
  (``captum.robust.FGSM``).
- **PGD** (Madry, Makelov, Schmidt, Tsipras & Vladu, ICLR 2018): ``steps`` steps of size ``α`` from ``x``, each
  projected back on the ball ``‖x' − x‖ ≤ ε`` (``captum.robust.PGD``, ``norm="Linf"`` or ``"L2"``). captum's
  step is the *sign* of the gradient in both norms, then the projection (``torch.renorm`` for ℓ2) — for ℓ2
  a weaker attack than Madry et al.'s normalized-gradient step; the ℓ2 numbers are therefore upper bounds of
  the accuracy under an optimal ℓ2 attack, as every attack's are.

Images are in gennet's units, [−1, 1] (so an ε of 0.1 is 5% of the dynamic range) and every attacked image is
clipped to [−1, 1]. ``ℓ`` is the cross-entropy of the logits. Accuracy is the fraction of the ``N`` images
still classified correctly.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AttackResult", "attack_accuracy", "NORMS", "ATTACKS", "require_captum"]

NORMS = ("Linf", "L2")
ATTACKS = ("fgsm", "pgd")


def require_captum():
    """``captum.robust``, or ``ModuleNotFoundError`` with the one line to install it."""
    try:
        import captum.robust
    except ModuleNotFoundError:
        raise ModuleNotFoundError("the attacks need captum: pip install 'gennet[analysis]'") from None
    return captum.robust


@dataclass(frozen=True)
class AttackResult:
    """``accuracy`` (fraction) of ``n`` images under ``attack`` (``"fgsm"`` / ``"pgd"``) in ``norm`` at radius ``epsilon``."""

    attack: str
    norm: str
    epsilon: float
    accuracy: float
    n: int


def _loss(logits: Tensor, labels: Tensor) -> Tensor:
    return F.cross_entropy(logits, labels, reduction="none")


def attack_accuracy(
    network: nn.Module,
    images: Tensor,
    labels: Tensor,
    epsilons: dict[str, Sequence[float]],
    attacks: Sequence[str] = ATTACKS,
    steps: int = 10,
    step_ratio: float = 2.5,
    batch_size: int = 250,
    bounds: tuple[float, float] = (-1.0, 1.0),
) -> list[AttackResult]:
    """Accuracy of ``network`` (eval mode) on ``images`` ``(N, C, H, W)`` under every attack at every radius.

    Args:
        epsilons: ``{"Linf": [...], "L2": [...]}`` (image units); FGSM runs only for ``Linf``.
        attacks: a subset of ``("fgsm", "pgd")``.
        steps: PGD steps; the step size is ``step_ratio · ε / steps`` (Madry et al.'s 2.5 ε / steps).
        bounds: the image range every attacked image is clipped to.

    Returns:
        one :class:`AttackResult` per (attack, norm, ε), FGSM first.

    Raises:
        ValueError: an unknown norm or attack, a negative ε, ``steps < 1``.
        ModuleNotFoundError: captum is missing.
    """
    robust = require_captum()
    unknown = [n for n in epsilons if n not in NORMS] + [a for a in attacks if a not in ATTACKS]
    if unknown:
        raise ValueError(f"unknown norm or attack {unknown[0]!r} (norms: {', '.join(NORMS)}; attacks: {', '.join(ATTACKS)})")
    if any(e < 0 for values in epsilons.values() for e in values):
        raise ValueError(f"every epsilon must be >= 0, got {dict(epsilons)}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    low, high = bounds
    fgsm = robust.FGSM(network, loss_func=_loss, lower_bound=low, upper_bound=high)
    pgd = robust.PGD(network, loss_func=_loss, lower_bound=low, upper_bound=high)
    runs = [("fgsm", "Linf", e) for e in epsilons.get("Linf", ()) if "fgsm" in attacks]
    runs += [("pgd", norm, e) for norm in NORMS for e in epsilons.get(norm, ()) if "pgd" in attacks]
    out = []
    with warnings.catch_warnings():  # captum's PGD detaches its iterate and then warns that it needs a gradient
        warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
        for attack, norm, epsilon in runs:
            out.append(_attack(network, images, labels, attack, norm, epsilon, fgsm, pgd, steps, step_ratio, batch_size))
    return out


def _attack(network, images, labels, attack, norm, epsilon, fgsm, pgd, steps, step_ratio, batch_size) -> AttackResult:
    """One (attack, norm, ε) over all the images, in batches."""
    correct = 0
    for x, y in zip(images.split(batch_size), labels.split(batch_size)):
        x = x.detach().clone().requires_grad_(True)  # captum differentiates with respect to it
        if epsilon == 0:
            adversarial = x
        elif attack == "fgsm":
            adversarial = fgsm.perturb(x, epsilon=epsilon, target=y)
        else:
            adversarial = pgd.perturb(x, radius=epsilon, step_size=step_ratio * epsilon / steps, step_num=steps,
                                      target=y, norm=norm)
        with torch.no_grad():
            correct += int((network(adversarial).argmax(1) == y).sum())
    return AttackResult(attack, norm, float(epsilon), correct / len(images), len(images))
