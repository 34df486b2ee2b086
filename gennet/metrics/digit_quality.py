"""Sample quality of digit generators, offline: Fréchet distance and improved precision/recall in the feature
space of gennet's :class:`~gennet.metrics.DigitClassifier` (trained on the training digits only).

The Fréchet distance is FID's formula (Heusel et al. 2017, ``‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2(Σ_r Σ_g)^½)``)
computed by torchmetrics' ``FrechetInceptionDistance`` with the classifier's penultimate layer (128
numbers) as the feature extractor instead of Inception-v3 — the usual practice on MNIST-like data; its
values are not comparable with Inception FIDs. Precision/recall: :func:`improved_precision_recall`
(Kynkäänniemi et al. 2019) in the same features. :func:`sample_digit_quality` measures the samples ``G(w)`` of a
generator, ``w`` drawn from a prior over its embedding; :func:`first_images` reads the real digits in batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance

from ..models.decoding import decode_batches
from .digit_classifier import DigitClassifier, load_digit_classifier
from .precision_recall import improved_precision_recall

__all__ = ["DigitFeatures", "digit_sample_quality", "first_images", "sample_digit_quality"]


class DigitFeatures(nn.Module):
    """The penultimate layer of a :class:`DigitClassifier` as a feature extractor for torchmetrics' FID:
    ``(B, 1, 32, 32)`` digits in [−1, 1] → ``(B, 128)`` float32 (``num_features`` = 128)."""

    def __init__(self, classifier: DigitClassifier) -> None:
        super().__init__()
        self.classifier = classifier.eval()
        self.num_features = classifier.num_features

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        return self.classifier.features(x.float().clamp(-1, 1))


@torch.no_grad()
def digit_sample_quality(
    real: Iterable[Tensor],
    fake: Iterable[Tensor],
    k: int = 3,
    device: torch.device | str = "cpu",
    classifier: DigitClassifier | None = None,
) -> dict[str, float | int]:
    """Compare batches of ``fake`` digits with batches of ``real`` ones (``(B, 1, 32, 32)`` in [−1, 1], any device).

    Returns ``{"frechet_distance", "precision", "recall", "k", "num_real", "num_fake"}``. ``classifier``:
    the shipped one by default (:func:`load_digit_classifier`).

    Raises:
        ValueError: images that are not ``(B, 1, 32, 32)``; fewer than ``k + 1`` images in a set.
    """
    extractor = DigitFeatures(classifier if classifier is not None else load_digit_classifier()).to(device)
    metric = FrechetInceptionDistance(feature=extractor, normalize=True).to(device)  # a custom extractor sees the images as given
    features: dict[bool, list[Tensor]] = {True: [], False: []}
    for images, is_real in ((real, True), (fake, False)):
        for x in images:
            x = x.to(device).float().clamp(-1, 1)
            metric.update(x, real=is_real)
            features[is_real].append(extractor(x))
    real_features, fake_features = torch.cat(features[True]), torch.cat(features[False])
    precision, recall = improved_precision_recall(fake_features, real_features, k)
    return {"frechet_distance": float(metric.compute()), "precision": precision, "recall": recall, "k": k,
            "num_real": len(real_features), "num_fake": len(fake_features)}


def first_images(dataset, n: int, batch_size: int = 256) -> Iterator[Tensor]:
    """The first ``n`` images of ``dataset`` (items ``(image, …)``, images ``(C, H, W)``) in batches ``(b, C, H, W)``,
    ``b ≤ batch_size``; all of them when ``n ≥ len(dataset)``."""
    for start in range(0, min(n, len(dataset)), batch_size):
        yield torch.stack([dataset[i][0] for i in range(start, min(n, len(dataset), start + batch_size))])


@torch.no_grad()
def sample_digit_quality(
    generator: nn.Module,
    prior,
    real: Iterable[Tensor],
    num_samples: int,
    temperature: float = 1.0,
    seed: int = 0,
    device: torch.device | str = "cpu",
    classifier: DigitClassifier | None = None,
) -> dict[str, float | int]:
    """:func:`digit_sample_quality` (Fréchet distance, precision/recall with k = 3) of ``num_samples`` samples ``G(w)``
    against the ``real`` digits: ``w`` drawn from ``prior`` (any :class:`~gennet.priors.Prior` of the generator's
    embedding) at ``temperature`` with a generator seeded by ``seed``, decoded by ``generator`` (on ``device``) in batches
    (:func:`~gennet.models.decoding.decode_batches`).

    Raises:
        ValueError: as :func:`digit_sample_quality`.
    """
    w = prior.sample(num_samples, generator=torch.Generator().manual_seed(seed), temperature=temperature)
    return digit_sample_quality(real, decode_batches(generator, w.to(device)), device=device, classifier=classifier)
