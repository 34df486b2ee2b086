"""Analyses of trained classifiers (DESIGN §11, §14, §15; pure PyTorch): the angular spectrum of the first layer on
scattering channels and its thresholding, Lipschitz bounds, progressive separation across depth (nearest
neighbours, local support vectors, linear probes against a random control), contraction, what an exact inverse
shows (reconstruction, interpolation, edition, local conditioning); and what a trained classifier relies on:
frequency components (``frequency``), margins along subspaces (``margins``), adversarial robustness
(``robustness``, captum), the spectral bias (``spectral``), knowledge consistency (``consistency``) and the
causal effect of a concept (``cace``)."""

from .angular import AngularSpectrum, angular_spectrum, threshold_angular
from .cace import causal_concept_effect, conditional_concept_effect, confounded_bars, stamp_bar, tcav_score
from .consistency import knowledge_consistency, penultimate_features, unexplained_variance
from .contraction import distance_ratio, pca_dimension
from .frequency import SplitAccuracy, band_pass, first_convolution, radial_mask, radial_split, smooth_kernels, split_accuracy
from .first_layer import FirstLayer, first_layer, replaced_weight
from .invertibility import (
    Edition,
    class_means,
    edit_toward,
    interpolate,
    is_invertible,
    local_conditioning,
    nearest_preimage,
    reconstruction_error,
)
from .lipschitz import LayerBound, empirical_lipschitz, lipschitz_upper_bound, operator_norm
from .margins import (
    DeepFoolResult,
    certified_radius,
    dct_block_basis,
    diagonal_dct_subspaces,
    library_deepfool,
    random_subspace,
    subspace_deepfool,
)
from .probes import fit_linear_probe, linear_probe_accuracy, random_control
from .robustness import AttackResult, attack_accuracy
from .scattering_layout import ScatteringLayout, scattering_layout
from .separation import (
    local_support_vectors,
    nearest_neighbour_accuracy,
    nearest_neighbours,
    network_stages,
    stage_features,
)
from .spectral import (
    PlantedNoise,
    fit_planted_noise,
    fitted_fraction,
    high_frequency_fraction,
    image_paths,
    line_spectrum,
    logit_margin,
    margin_along_lines,
    planted_noise,
    random_lines,
    spectral_median,
)

__all__ = [
    "AngularSpectrum",
    "AttackResult",
    "DeepFoolResult",
    "Edition",
    "FirstLayer",
    "LayerBound",
    "PlantedNoise",
    "ScatteringLayout",
    "SplitAccuracy",
    "angular_spectrum",
    "attack_accuracy",
    "band_pass",
    "causal_concept_effect",
    "certified_radius",
    "class_means",
    "conditional_concept_effect",
    "confounded_bars",
    "dct_block_basis",
    "diagonal_dct_subspaces",
    "distance_ratio",
    "edit_toward",
    "empirical_lipschitz",
    "first_convolution",
    "first_layer",
    "fit_linear_probe",
    "fit_planted_noise",
    "fitted_fraction",
    "high_frequency_fraction",
    "image_paths",
    "interpolate",
    "is_invertible",
    "knowledge_consistency",
    "library_deepfool",
    "line_spectrum",
    "linear_probe_accuracy",
    "lipschitz_upper_bound",
    "local_conditioning",
    "local_support_vectors",
    "logit_margin",
    "margin_along_lines",
    "nearest_neighbour_accuracy",
    "nearest_neighbours",
    "nearest_preimage",
    "network_stages",
    "operator_norm",
    "pca_dimension",
    "penultimate_features",
    "planted_noise",
    "radial_mask",
    "radial_split",
    "random_control",
    "random_lines",
    "random_subspace",
    "reconstruction_error",
    "replaced_weight",
    "scattering_layout",
    "smooth_kernels",
    "spectral_median",
    "split_accuracy",
    "stage_features",
    "stamp_bar",
    "subspace_deepfool",
    "tcav_score",
    "threshold_angular",
    "unexplained_variance",
]
