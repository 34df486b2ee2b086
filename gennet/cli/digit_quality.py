"""What evaluate.py and ``benchmarks/sample_quality.py`` share for digit checkpoints: the offline sample-quality
measures of :mod:`gennet.metrics` (Fréchet distance, precision/recall in the digit classifier's features)
between samples ``G(w)``, ``w`` drawn from a prior over ``w`` (the Gaussian model by default), and the test digits — with the
real-vs-real floor (validation vs test digits) beside them."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ..data.mnist5k import MNIST5kDataModule
from ..metrics.digit_classifier import DigitClassifier, digit_classifier_metadata, load_digit_classifier
from ..metrics.digit_quality import digit_sample_quality
from ..priors import Prior
from .generation import decode

__all__ = ["is_digit_data", "classifier_note", "sample_digit_quality", "real_digit_quality", "first_images"]


def is_digit_data(datamodule) -> bool:
    """The bundled digits at the classifier's size: :class:`~gennet.data.MNIST5kDataModule` with 32×32 images."""
    return isinstance(datamodule, MNIST5kDataModule) and tuple(datamodule.image_shape) == DigitClassifier.input_shape


def first_images(dataset, n: int, batch_size: int = 256) -> Iterator[torch.Tensor]:
    """The first ``n`` images of ``dataset`` in batches ``(b, C, H, W)``."""
    for start in range(0, min(n, len(dataset)), batch_size):
        yield torch.stack([dataset[i][0] for i in range(start, min(n, len(dataset), start + batch_size))])


def classifier_note(datamodule) -> str:
    """What the classifier saw, and — when the checkpoint's split differs from the classifier's — how many of its
    validation and test digits the classifier was trained on (its features are then slightly optimistic there)."""
    meta = digit_classifier_metadata()
    note = (f"features: penultimate layer of gennet's digit classifier (test accuracy {100 * meta['test_accuracy']:.1f}%, "
            f"trained on the {meta['data']['train_images']} training digits of the seed-{meta['data']['split_seed']} split)")
    if isinstance(datamodule, MNIST5kDataModule):
        seen = MNIST5kDataModule(seed=meta["data"]["split_seed"]).split_indices["train"]
        for split in ("val", "test"):
            overlap = int(torch.isin(datamodule.split_indices[split], seen).sum())
            if overlap:
                note += f"; caution: {overlap} of this checkpoint's {split} digits (data.seed={datamodule.seed}) were among them"
    return note


@torch.no_grad()
def sample_digit_quality(
    module,
    model: Prior,
    datamodule,
    num_real: int,
    num_samples: int,
    temperature: float,
    seed: int,
    device: torch.device,
    classifier: DigitClassifier | None = None,
) -> dict:
    """Fréchet distance and precision/recall (k = 3) of ``num_samples`` samples ``G(w)``, ``w`` drawn from ``model`` (any
    :class:`~gennet.priors.Prior`) at ``temperature`` with ``seed``, against the first ``num_real`` test digits (see :func:`~gennet.metrics.digit_sample_quality`)."""
    classifier = classifier if classifier is not None else load_digit_classifier(device)
    w = model.sample(num_samples, generator=torch.Generator().manual_seed(seed), temperature=temperature)
    return digit_sample_quality(first_images(datamodule.test_dataset, num_real), decode(module, w.to(device)),
                                device=device, classifier=classifier)


@torch.no_grad()
def real_digit_quality(datamodule, num_real: int, device: torch.device, classifier: DigitClassifier | None = None) -> dict:
    """The floor of the same measures: the validation digits (as many as ``num_real``) against the first ``num_real``
    test digits — what a generator that samples real digits would score at this sample size."""
    classifier = classifier if classifier is not None else load_digit_classifier(device)
    return digit_sample_quality(first_images(datamodule.test_dataset, num_real), first_images(datamodule.val_dataset, num_real),
                                device=device, classifier=classifier)
