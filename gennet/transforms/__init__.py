"""Fixed operators: Morlet filters, rectified wavelets ``U`` (with exact ``U⁻¹``), projector ``L``, ``Φ = L∘U``."""

from .embedding import Embedding2D
from .filters import FilterBank, morlet_filter_bank, periodize_fourier
from .lowpass import LowPass2D
from .rectified import RectifiedWavelet2D, WaveletCoefficients

__all__ = [
    "Embedding2D",
    "FilterBank",
    "LowPass2D",
    "RectifiedWavelet2D",
    "WaveletCoefficients",
    "morlet_filter_bank",
    "periodize_fourier",
]
