"""Analyses of trained classifiers (DESIGN §11; pure PyTorch): the angular spectrum of the first layer on
scattering channels and its thresholding, Lipschitz bounds, and progressive separation across depth."""

from .angular import AngularSpectrum, angular_spectrum, threshold_angular
from .first_layer import FirstLayer, first_layer, replaced_weight
from .lipschitz import LayerBound, empirical_lipschitz, lipschitz_upper_bound, operator_norm
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
    "FirstLayer",
    "LayerBound",
    "ScatteringLayout",
    "angular_spectrum",
    "empirical_lipschitz",
    "first_layer",
    "lipschitz_upper_bound",
    "local_support_vectors",
    "nearest_neighbour_accuracy",
    "nearest_neighbours",
    "network_stages",
    "operator_norm",
    "replaced_weight",
    "scattering_layout",
    "stage_features",
    "threshold_angular",
]
