"""The networks a config or a checkpoint may name (:mod:`gennet.registry`): ``model.network._target_`` of the
classifiers, ``decoder._target_`` of the generators. Nothing else in :mod:`gennet.models` can be built from a file."""

from __future__ import annotations

from .. import models
from ..registry import Registry

__all__ = ["DECODERS", "NETWORKS"]

#: :class:`~gennet.lit.ClassifierModule`'s ``network``: a new classifier network is one more line here.
NETWORKS = Registry("network", "gennet.models", [
    models.HybridScatteringNet,
    models.IRevNet,
    models.ResNet18,
    models.ScatteringClassifier,
    models.SharedLocalEncoder,
    models.SparseScatteringClassifier,
])

#: :class:`~gennet.lit.GeneratorModule`'s ``decoder`` (subclasses of :class:`~gennet.models.EmbeddingInverse`).
DECODERS = Registry("decoder", "gennet.models", [
    models.SparseInverseGenerator,
    models.CNNGenerator,
])
