"""Offline sample-quality measures for digits (pure PyTorch): a small digit classifier shipped with the package,
the Fréchet distance and the improved precision/recall of Kynkäänniemi et al. (2019) in its feature space."""

from .digit_classifier import DigitClassifier, digit_classifier_metadata, load_digit_classifier
from .digit_quality import DigitFeatures, digit_sample_quality
from .precision_recall import improved_precision_recall

__all__ = [
    "DigitClassifier",
    "DigitFeatures",
    "digit_classifier_metadata",
    "digit_sample_quality",
    "improved_precision_recall",
    "load_digit_classifier",
]
