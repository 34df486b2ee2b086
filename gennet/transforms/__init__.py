"""Fixed operators: Morlet filters, rectified wavelets ``U`` (with exact ``U⁻¹``), projector ``L``, ``Φ = L∘U``, scattering ``S_J``."""

from .dct import dct2, dct_flip, dct_matrix, idct2
from .embedding import Embedding2D, LowPass2D, RectifiedWavelet2D, WaveletCoefficients
from .filters import FilterBank, morlet_filter_bank, periodize_fourier
from .scattering import Scattering2D

__all__ = [
    "Embedding2D",
    "FilterBank",
    "LowPass2D",
    "RectifiedWavelet2D",
    "Scattering2D",
    "WaveletCoefficients",
    "dct2",
    "dct_flip",
    "dct_matrix",
    "idct2",
    "morlet_filter_bank",
    "periodize_fourier",
]
