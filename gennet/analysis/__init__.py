"""Analyses of trained classifiers (DESIGN §11, §14; pure PyTorch): the angular spectrum of the first layer on
scattering channels and its thresholding, Lipschitz bounds, progressive separation across depth (nearest
neighbours, local support vectors, linear probes against a random control), contraction, and what an exact
inverse shows (reconstruction, interpolation, edition, local conditioning)."""

from .angular import AngularSpectrum, angular_spectrum, threshold_angular
from .contraction import distance_ratio, pca_dimension
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
from .probes import fit_linear_probe, linear_probe_accuracy, random_control
from .scattering_layout import ScatteringLayout, scattering_layout
from .separation import (
    local_support_vectors,
    nearest_neighbour_accuracy,
    nearest_neighbours,
    network_stages,
    stage_features,
)

__all__ = [
    "AngularSpectrum",
    "Edition",
    "FirstLayer",
    "LayerBound",
    "ScatteringLayout",
    "angular_spectrum",
    "class_means",
    "distance_ratio",
    "edit_toward",
    "empirical_lipschitz",
    "first_layer",
    "fit_linear_probe",
    "interpolate",
    "is_invertible",
    "linear_probe_accuracy",
    "lipschitz_upper_bound",
    "local_conditioning",
    "local_support_vectors",
    "nearest_neighbour_accuracy",
    "nearest_neighbours",
    "nearest_preimage",
    "network_stages",
    "operator_norm",
    "pca_dimension",
    "random_control",
    "reconstruction_error",
    "replaced_weight",
    "scattering_layout",
    "stage_features",
    "threshold_angular",
]
