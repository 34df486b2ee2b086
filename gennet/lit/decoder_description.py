"""The generator's decoder as plain types, and the translation of the older flat keys into it.

A decoder is described as ``{_target_: gennet.models.<Decoder>, J, L, A, **arguments}``, where the sparse decoder's
``solver`` is itself ``{_target_: gennet.sparse.<Solver>, lambda_star, n_layers, positive, learn_lambda, …}``:
plain types, so a checkpoint's ``hyper_parameters`` rebuild the decoder and load with ``weights_only=True``
(:func:`build_decoder`). The model group ``gennet/conf/model/generator.yaml`` names the classes by
``decoder._target_`` and ``solver._target_`` and keeps the numbers users set at the top (``model.num_atoms``,
``model.lambda_star``, ``model.n_layers``, …); :func:`decoder_description` merges the two, and also reads the
flat form of earlier configs and checkpoints (``architecture: sparse | cnn``, ``solver: admm | istc | active_set``).
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from ..models.generator import EmbeddingInverse
from ..registry import check_arguments
from ..sparse.solver import solver_class

__all__ = ["ARCHITECTURES", "build_decoder", "decoder_class", "decoder_description", "solver_description"]

#: ``architecture`` of the flat (pre-``decoder``) configs → the decoder it names.
ARCHITECTURES = {"sparse": "gennet.models.SparseInverseGenerator", "cnn": "gennet.models.CNNGenerator"}

#: Top-level keys of the model group → the decoder argument they set (where the decoder takes it).
_DECODER_KEYS = {"num_atoms": "num_atoms", "atom_size": "atom_size", "seed": "seed", "cnn_width": "width", "whiten": "whiten"}

#: Top-level keys of the model group that every solver takes.
_SOLVER_KEYS = ("lambda_star", "n_layers", "positive", "learn_lambda")


def decoder_class(target: object) -> type[EmbeddingInverse]:
    """The decoder class named by ``decoder._target_``: one of :data:`gennet.models.registry.DECODERS` (subclasses of
    :class:`~gennet.models.EmbeddingInverse`), looked up by name; nothing is imported.

    Raises:
        ValueError: ``target`` names no such class.
    """
    from ..models.registry import DECODERS

    return DECODERS.lookup(target)


def _named(lookup, target: object, key: str) -> type:
    """``lookup(target)``, its ``ValueError`` naming ``key``."""
    try:
        return lookup(target)
    except ValueError as error:
        raise ValueError(f"{key}: {error}") from None


def _parameters(cls: type) -> set[str]:
    return set(inspect.signature(cls).parameters)


def solver_description(solver: dict | str | None, checkpoint_layers: bool = False, **keys: Any) -> dict:
    """``{_target_: gennet.sparse.<Solver>, **arguments}`` from the ``solver`` entry (a description, or the short name
    of earlier configs: ``admm``, ``istc``, ``active_set``) and the top-level ``keys`` (``lambda_star``, ``n_layers``,
    ``positive``, ``learn_lambda``); the entry's own arguments win.

    Raises:
        ValueError: an unknown solver; ``checkpoint_layers`` for a solver without it (only ISTC is unrolled so).
    """
    solver = {"_target_": solver} if isinstance(solver, str) else dict(solver or {"_target_": "gennet.sparse.ADMM"})
    cls = _named(solver_class, solver.get("_target_"), "solver._target_")
    arguments = {k: keys[k] for k in _SOLVER_KEYS if k in keys}
    if checkpoint_layers:
        if "checkpoint_layers" not in _parameters(cls):
            raise ValueError(f"checkpoint_layers is implemented for gennet.sparse.ISTC (istc) only, not {cls.__name__}")
        arguments["checkpoint_layers"] = True
    arguments.update({k: v for k, v in solver.items() if k != "_target_"})
    return {"_target_": f"gennet.sparse.{cls.__name__}", **arguments}


def decoder_description(
    decoder: dict | None, solver: dict | str | None, architecture: str | None, encoder: dict, **keys: Any
) -> dict:
    """The full description of the decoder: ``decoder`` (``_target_`` and any arguments of its own, which win) with
    ``encoder`` (``J``, ``L``, ``A``) and the top-level ``keys`` the decoder takes (``num_atoms``, ``atom_size``,
    ``seed``, ``cnn_width`` → ``width``, ``whiten``; ``solver`` and the solver keys for a decoder with a solver).
    ``architecture`` (flat form) names the decoder when ``decoder`` is not given.

    Raises:
        ValueError: an unknown ``architecture``, decoder or solver (:func:`solver_description`).
    """
    if decoder is not None and architecture is not None:
        raise ValueError("architecture is replaced by decoder._target_ (gennet.models.SparseInverseGenerator, "
                         "gennet.models.CNNGenerator; or model=cnn_generator): give one of them")
    if decoder is None:
        if architecture is not None and architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)} (the decoder is now chosen by "
                             f"decoder._target_ or model=cnn_generator), got {architecture!r}")
        decoder = {"_target_": ARCHITECTURES[architecture or "sparse"]}
    decoder = dict(decoder)
    cls = _named(decoder_class, decoder.get("_target_"), "decoder._target_")
    accepted = _parameters(cls)
    description: dict[str, Any] = {"_target_": f"{cls.__module__.rpartition('.')[0]}.{cls.__name__}"}
    description.update({k: int(encoder[k]) for k in ("J", "L", "A") if k in encoder})
    description.update({name: keys[key] for key, name in _DECODER_KEYS.items() if name in accepted and key in keys})
    if "solver" in accepted:
        own = decoder.get("solver")
        solver_keys = {k: keys[k] for k in (*_SOLVER_KEYS, "checkpoint_layers") if k in keys}
        if isinstance(own, dict) and isinstance(solver, dict):
            own = {**solver, **own}
        description["solver"] = solver_description(own if own is not None else solver, **solver_keys)
    description.update({k: v for k, v in decoder.items() if k not in ("_target_", "solver")})
    return description


def build_decoder(description: dict, shape: tuple[int, int], channels: int) -> nn.Module:
    """``Decoder(shape, channels, **arguments)`` from :func:`decoder_description`'s output (the solver built first)."""
    cls = _named(decoder_class, description.get("_target_"), "decoder._target_")
    arguments = {k: v for k, v in description.items() if k not in ("_target_", "solver")}
    arguments = check_arguments(cls, arguments, "decoder", given=("shape", "channels"))
    if "solver" in description:
        solver = description["solver"]
        if not isinstance(solver, dict):
            raise ValueError(f"decoder.solver: must be a mapping with a _target_, got {solver!r}"[:200])
        solver_cls = _named(solver_class, solver.get("_target_"), "decoder.solver._target_")
        arguments["solver"] = solver_cls(**check_arguments(solver_cls, {k: v for k, v in solver.items() if k != "_target_"},
                                                           "decoder.solver"))
    return cls(shape, channels, **arguments)
