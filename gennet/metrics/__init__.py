"""Measures of generated and reconstructed images (pure PyTorch, torchmetrics): a small digit classifier shipped with the
package, the Fréchet distance and the improved precision/recall of Kynkäänniemi et al. (2019) in its feature space;
Fréchet distances on Inception or scattering features; reconstruction quality and sparse-code statistics; the
low-pass agreement of coarse-grain samples; the copy check (nearest training distances); the PSNR of one image."""

from .digit_classifier import DigitClassifier, digit_classifier_metadata, load_digit_classifier
from .digit_quality import DigitFeatures, digit_sample_quality, first_images, sample_digit_quality
from .frechet import frechet_distance
from .lowpass_agreement import lowpass_agreement
from .memorization import nearest_training_distances
from .precision_recall import improved_precision_recall
from .psnr import psnr
from .reconstruction import reconstruction_quality
from .scattering_statistics import ScatteringStatistics

__all__ = [
    "DigitClassifier",
    "DigitFeatures",
    "ScatteringStatistics",
    "digit_classifier_metadata",
    "digit_sample_quality",
    "first_images",
    "frechet_distance",
    "improved_precision_recall",
    "load_digit_classifier",
    "lowpass_agreement",
    "nearest_training_distances",
    "psnr",
    "reconstruction_quality",
    "sample_digit_quality",
]
