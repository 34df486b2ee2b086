"""The causal effect of a concept on a classifier, by a true intervention, against correlational scores (DESIGN §15).

Goyal, Shalit & Kim, "Explaining classifiers with causal concept effect (CaCE)", arXiv:1907.07165, 2019,
Definition 1: ``CaCE(C, f) = E[f(I) | do(C = 1)] − E[f(I) | do(C = 0)]``. Here the image generator is known —
a digit, with or without a **bar** stamped on it (a rectangle set to ``value``, on the digits' padding so it
never covers a stroke) — so the intervention is exact: the same digits, once with the bar and once without
(the paper's GT-CaCE). ``f`` is the softmax probability of one class. Beside it, what a correlational method
reports: the conditional expectation ``ConExp = E[f | C = 1] − E[f | C = 0]`` on the (confounded) observed
data, and **TCAV** (Kim et al., ICML 2018; captum's ``TCAV``): the fraction of the class's inputs whose
directional derivative along the concept activation vector of a layer is positive.

The confounded data of the paper's BARS experiment (Table 1): the bar is present on a fraction
``rate_target`` of the images of the target class and ``rate_others`` of the others.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable

import torch
from torch import Tensor, nn

__all__ = ["BAR", "stamp_bar", "confounded_bars", "causal_concept_effect", "conditional_concept_effect", "tcav_score"]

#: Where the bar goes on 32×32 digits (rows, columns): the 2-pixel padding on the left of the 28×28 digit.
BAR = (slice(8, 24), slice(0, 2))


def stamp_bar(images: Tensor, value: float = 1.0, where: tuple[slice, slice] = BAR) -> Tensor:
    """A copy of ``images`` ``(N, C, H, W)`` with the rectangle ``where`` set to ``value`` in every channel."""
    out = images.clone()
    out[..., where[0], where[1]] = value
    return out


def confounded_bars(labels: Tensor, target_class: int, rate_target: float, rate_others: float, seed: int = 0) -> Tensor:
    """Bool ``(N,)``: which images get the bar — a fraction ``rate_target`` of the images of ``target_class`` and
    ``rate_others`` of the others, drawn at random (exact counts, rounded).

    Raises:
        ValueError: a rate outside [0, 1].
    """
    if not (0 <= rate_target <= 1 and 0 <= rate_others <= 1):
        raise ValueError(f"rates must be in [0, 1], got {rate_target}, {rate_others}")
    generator = torch.Generator().manual_seed(seed)
    has = torch.zeros(len(labels), dtype=torch.bool)
    for members, rate in (((labels == target_class).nonzero()[:, 0], rate_target), ((labels != target_class).nonzero()[:, 0], rate_others)):
        chosen = members[torch.randperm(len(members), generator=generator)[: round(rate * len(members))]]
        has[chosen] = True
    return has


@torch.no_grad()
def _probability(f: Callable[[Tensor], Tensor], images: Tensor, target_class: int, batch_size: int) -> Tensor:
    return torch.cat([f(x).softmax(1)[:, target_class] for x in images.split(batch_size)])


def causal_concept_effect(f: Callable[[Tensor], Tensor], images: Tensor, target_class: int,
                          intervene: Callable[[Tensor], Tensor] = stamp_bar, batch_size: int = 256) -> float:
    """GT-CaCE: ``mean p_c(intervene(x)) − mean p_c(x)`` over concept-free ``images`` ``(N, C, H, W)``, ``p_c`` the
    softmax probability of ``target_class`` under the classifier ``f`` (eval mode). In [−1, 1]."""
    return float(_probability(f, intervene(images), target_class, batch_size).mean()
                 - _probability(f, images, target_class, batch_size).mean())


def conditional_concept_effect(f: Callable[[Tensor], Tensor], images: Tensor, has_concept: Tensor, target_class: int,
                               batch_size: int = 256) -> float:
    """ConExp: ``mean p_c(x | bar) − mean p_c(x | no bar)`` on observed ``images`` (bars already stamped where
    ``has_concept``).

    Raises:
        ValueError: no image, or every image, carries the concept.
    """
    if not 0 < int(has_concept.sum()) < len(has_concept):
        raise ValueError("ConExp needs images with and without the concept")
    p = _probability(f, images, target_class, batch_size)
    return float(p[has_concept].mean() - p[~has_concept].mean())


def tcav_score(network: nn.Module, layer: str, concept_images: Tensor, random_images: Tensor, inputs: Tensor,
               target_class: int, seed: int = 0) -> float:
    """captum's TCAV sign-count score of the concept for ``target_class`` at ``layer`` (a module name of
    ``network``): the fraction of ``inputs`` whose gradient of the class logit, at that layer, has a positive
    dot product with the concept activation vector (a linear SGD classifier, sklearn's, separating the layer's
    activations of ``concept_images`` from those of ``random_images``).

    Raises:
        ModuleNotFoundError: captum (or scikit-learn, which its default classifier uses) is missing.
    """
    try:
        from captum.concept import TCAV, Concept
        import sklearn  # noqa: F401  (captum's default CAV classifier)
    except ModuleNotFoundError:
        raise ModuleNotFoundError("TCAV needs captum and scikit-learn: pip install 'gennet[analysis]'") from None
    import warnings

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        concept = Concept(0, "bar", torch.utils.data.DataLoader(concept_images, batch_size=64))
        random = Concept(1, "random", torch.utils.data.DataLoader(random_images, batch_size=64))
        tcav = TCAV(network, [layer], model_id=f"gennet-{seed}", save_path=folder + "/")
        scores = tcav.interpret(inputs, experimental_sets=[[concept, random]], target=target_class, processes=None)
    (per_layer,) = scores.values()
    return float(per_layer[layer]["sign_count"][0])
