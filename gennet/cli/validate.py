"""Start-up checks of the model keys of a training config (generator, classifiers and their networks), naming the key and the allowed range.

The data modules check their own keys (``data.*``) in their constructors; the checks here cover the
``model`` group, whose constructors raise plain ``ValueError`` without knowing the config path. The allowed
values are the code's own (``OPTIMIZERS``, ``LOSSES``, the registered Lasso solvers, the decoders and
networks of :mod:`gennet.models`, …), named here only to map them onto the config key of the error line.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from numbers import Real

from omegaconf import DictConfig

from ..errors import ConfigError, check_bool, check_int, check_number
from ..lit.classifier_module import ARCHITECTURES as CLASSIFIER_ARCHITECTURES
from ..lit.classifier_module import LR_SCHEDULES as CLASSIFIER_SCHEDULES
from ..lit.decoder_description import ARCHITECTURES as DECODER_ARCHITECTURES
from ..lit.decoder_description import decoder_class
from ..lit.dictionary_learning import ATOM_INITS
from ..lit.generator_module import LOSSES
from ..lit.generator_module import LR_SCHEDULES as GENERATOR_SCHEDULES
from ..lit.optimization import OPTIMIZERS
from ..models.classifier_head import HEADS
from ..models.resnet import STEMS
from ..sparse.solver import SOLVERS, solver_class

__all__ = ["check_choice", "validate_train_config"]


def check_choice(key: str, value, allowed) -> None:
    """Raise ``ConfigError(key, "must be one of …")`` unless ``value`` is one of ``allowed`` (the code's own names:
    a registry's keys or a module's constant)."""
    if value not in allowed:
        raise ConfigError(key, f"must be one of {', '.join(allowed)}, got {value!r}")


def _fraction(key: str, value) -> float:
    """A number in ``[0, 1)`` (dropout, momentum)."""
    value = check_number(key, value, 0.0, 1.0)
    if value >= 1:
        raise ConfigError(key, f"must be < 1, got {value:g}")
    return value


def _check_scale(key: str, J: int, image_size) -> None:
    if isinstance(image_size, int) and not isinstance(image_size, bool) and 2**J > image_size:
        raise ConfigError(
            key,
            f"J={J} is too large for {image_size}x{image_size} images: need 2**J <= data.image_size "
            f"(largest allowed J = {max(image_size.bit_length() - 1, 0)})",
        )


def _validate_scattering(prefix: str, scattering, image_size) -> None:
    """``J``, ``L``, ``max_order``, ``phases`` of a scattering front end, under ``prefix`` (e.g. ``model.scattering``)."""
    _check_scale(f"{prefix}.J", check_int(f"{prefix}.J", scattering.get("J", 4), 1), image_size)
    check_int(f"{prefix}.L", scattering.get("L", 8), 1)
    check_int(f"{prefix}.max_order", scattering.get("max_order", 2), 1, 2)
    phases = scattering.get("phases")
    if phases is not None and (check_int(f"{prefix}.phases", phases, 4) % 2):
        raise ConfigError(f"{prefix}.phases", f"must be null or an even integer >= 4, got {phases}")


def _validate_recipe(model: DictConfig) -> None:
    """The training recipe of :class:`~gennet.lit.ClassifierModule`, whatever the network."""
    if "lr_step_epochs" in model:
        check_int("model.lr_step_epochs", model.lr_step_epochs, 1)
    if model.get("standardization_samples") is not None:
        check_int("model.standardization_samples", model.standardization_samples, 1, why=" (or null for all)")
    if "momentum" in model:
        _fraction("model.momentum", model.momentum)
    if "lr_gamma" in model:
        check_number("model.lr_gamma", model.lr_gamma, 0.0, strict=True)
    check_choice("model.optimizer", model.get("optimizer", "sgd"), tuple(OPTIMIZERS))
    check_choice("model.lr_schedule", model.get("lr_schedule", "step"), CLASSIFIER_SCHEDULES)


def _validate_classifier(model: DictConfig, image_size) -> None:
    """``model.*`` of :class:`~gennet.lit.ClassifierModule` in the flat form (``sparse_scatnet`` / ``scatnet``)."""
    check_choice("model.architecture", model.get("architecture", "sparse_scatnet"), tuple(CLASSIFIER_ARCHITECTURES))
    _validate_scattering("model.scattering", model.get("scattering") or {}, image_size)
    for key in ("proj_channels", "hidden", "pool_size", "pool_stride"):
        if key in model:
            check_int(f"model.{key}", model.get(key), 1)
    if "proj_kernel" in model and check_int("model.proj_kernel", model.proj_kernel, 1) % 2 == 0:
        raise ConfigError("model.proj_kernel", f"must be odd, got {model.proj_kernel}")
    if "dropout" in model:
        _fraction("model.dropout", model.dropout)
    if "lambda_min" in model:
        check_number("model.lambda_min", model.lambda_min, 0.0)
    check_choice("model.head", model.get("head", "mlp"), HEADS)
    _validate_recipe(model)


def _int_list(key: str, value, allow_empty: bool = False) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or (not value and not allow_empty):
        raise ConfigError(key, f"must be a {'' if allow_empty else 'non-empty '}list of integers >= 1, got {value!r}")
    return [check_int(f"{key}[{i}]", v, 1) for i, v in enumerate(value)]


def _validate_network(model: DictConfig, image_size) -> None:
    """``model.network`` of :class:`~gennet.lit.ClassifierModule`: a network class of :mod:`gennet.models` and its arguments."""
    from ..lit.classifier_module import network_class

    network = model.network
    if not isinstance(network, Mapping):
        raise ConfigError("model.network", f"must be a mapping with a _target_ (e.g. gennet.models.HybridScatteringNet), got {network!r}")
    try:
        cls = network_class(network.get("_target_"))
    except ValueError as error:
        raise ConfigError("model.network._target_", str(error)) from None
    arguments = [name for name in inspect.signature(cls).parameters if name not in ("shape", "channels", "num_classes")]
    for key in network:
        if key != "_target_" and key not in arguments:
            raise ConfigError(f"model.network.{key}", f"is not an argument of {cls.__name__} (its arguments: {', '.join(arguments)})")
    if "J" in network:
        _validate_scattering("model.network", network, image_size)
    # widths / blocks / hidden are lists where the network takes lists (hidden is one width for scatnet's head)
    defaults = {name: parameter.default for name, parameter in inspect.signature(cls).parameters.items()}
    lists = {key: _int_list(f"model.network.{key}", network[key], allow_empty=key == "hidden")
             for key in ("widths", "blocks", "hidden") if key in network and not isinstance(defaults[key], int)}
    if "hidden" in network and "hidden" not in lists:
        check_int("model.network.hidden", network.hidden, 1)
    if "widths" in lists and "blocks" in lists and len(lists["widths"]) != len(lists["blocks"]):
        raise ConfigError("model.network.blocks", f"needs one count per stage of model.network.widths ({len(lists['widths'])}), got {lists['blocks']}")
    if "pool_size" in network:
        check_int("model.network.pool_size", network.pool_size, 1)
    if "dropout" in network:
        _fraction("model.network.dropout", network.dropout)
    if "stem" in network:
        check_choice("model.network.stem", network.stem, STEMS)
    if model.get("_recursive_", True) is not False:
        raise ConfigError("model._recursive_", "must be false: the module builds model.network itself (see gennet/conf/model/hybrid_scatnet.yaml)")
    _validate_recipe(model)


def _validate_generator(model: DictConfig) -> None:
    """``model.*`` choices of :class:`~gennet.lit.GeneratorModule` (``generator`` / ``cnn_generator``)."""
    decoder = model.get("decoder")
    if decoder is not None and "architecture" in model:
        raise ConfigError("model.architecture", "is replaced by model.decoder._target_ (gennet.models.SparseInverseGenerator, "
                          "gennet.models.CNNGenerator) or model=cnn_generator")
    if decoder is not None:
        if not isinstance(decoder, Mapping):
            raise ConfigError("model.decoder", f"must be a mapping with a _target_ (e.g. gennet.models.SparseInverseGenerator), got {decoder!r}")
        try:
            decoder_cls = decoder_class(decoder.get("_target_"))
        except ValueError as error:
            raise ConfigError("model.decoder._target_", str(error)) from None
        sparse = "solver" in inspect.signature(decoder_cls).parameters
    else:  # the flat form of earlier configs
        architecture = model.get("architecture", "sparse")
        check_choice("model.architecture", architecture, tuple(DECODER_ARCHITECTURES))
        sparse = architecture == "sparse"
    check_choice("model.loss", model.get("loss", "mse"), tuple(LOSSES))
    check_choice("model.optimizer", model.get("optimizer", "adam"), tuple(OPTIMIZERS))
    check_choice("model.lr_schedule", model.get("lr_schedule", "cosine"), GENERATOR_SCHEDULES)
    check_choice("model.atom_init", model.get("atom_init", "data"), ATOM_INITS)
    solver = model.get("solver", "admm")
    key = "model.solver._target_" if isinstance(solver, Mapping) else "model.solver"
    try:  # a description {_target_: gennet.sparse.<Solver>} or the short name of earlier configs (SOLVERS)
        solver_cls = solver_class(solver.get("_target_") if isinstance(solver, Mapping) else solver)
    except ValueError:
        allowed = ", ".join(f"gennet.sparse.{cls.__name__}" for cls in SOLVERS.values())
        raise ConfigError(key, f"must name a Lasso solver ({allowed}; or one of {', '.join(SOLVERS)}), got {solver!r}") from None
    if model.get("checkpoint_layers") and "checkpoint_layers" not in inspect.signature(solver_cls).parameters:
        raise ConfigError("model.checkpoint_layers", f"is implemented for gennet.sparse.ISTC only ({solver_cls.__name__} is not unrolled so)")
    if sparse and "lambda_star" in model:
        value = model.lambda_star
        if isinstance(value, Real) and not isinstance(value, bool) and value >= 1:
            raise ConfigError("model.lambda_star", f"is relative to lambda_max and must be in (0, 1) (1 or more gives a zero code), got {value!r}")
    if "cnn_width" in model:
        check_int("model.cnn_width", model.cnn_width, 1)
    for key in ("positive", "learn_lambda", "replace_unused_atoms", "checkpoint_layers", "whiten"):
        if key in model:
            check_bool(f"model.{key}", model.get(key))


def _validate_trainer(trainer: DictConfig) -> None:
    if trainer.get("max_epochs") not in (None, -1):
        check_int("trainer.max_epochs", trainer.get("max_epochs"), 1, why=" (or -1 for no limit)")
    for split in ("train", "val", "test"):
        key, value = f"trainer.limit_{split}_batches", trainer.get(f"limit_{split}_batches")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, Real) or value < 0 or (isinstance(value, float) and value > 1):
            raise ConfigError(key, f"must be null, an integer >= 0 (batches) or a fraction in [0, 1], got {value!r}")
    devices = trainer.get("devices")
    if isinstance(devices, int) and not isinstance(devices, bool) and devices != -1 and devices < 1:
        raise ConfigError("trainer.devices", f"must be >= 1, -1 (all) or auto, got {devices}")


def validate_train_config(cfg: DictConfig) -> None:
    """Raise :class:`~gennet.errors.ConfigError` for the first bad value of ``cfg`` (root, data, model, trainer,
    callbacks keys; the data modules check the rest of ``data.*`` in their constructors)."""
    seed = cfg.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError("seed", f"expected an integer, got {seed!r}")
    check_bool("test", cfg.get("test", True))
    model, data = cfg.get("model"), cfg.get("data")
    image_size = data.get("image_size") if data is not None else None
    if image_size is not None:
        check_int("data.image_size", image_size, 1)
    if model is not None and "encoder" in model:
        encoder = model.encoder
        J = check_int("model.encoder.J", encoder.get("J"), 1)
        _check_scale("model.encoder.J", J, image_size)
        if isinstance(image_size, int) and not isinstance(image_size, bool):
            if image_size % 2**J:
                raise ConfigError("model.encoder.J", f"2**J = {2**J} must divide data.image_size = {image_size}")
        check_int("model.encoder.L", encoder.get("L", 8), 1)
        A = check_int("model.encoder.A", encoder.get("A", 4), 4)
        if A % 2:
            raise ConfigError("model.encoder.A", f"must be even and >= 4, got {A}")
        if "atom_size" in model and isinstance(image_size, int):
            check_int("model.atom_size", model.atom_size, 1, max(image_size // 2**J, 1), why=" (the coarse grid size)")
    if model is not None and "network" in model:
        _validate_network(model, image_size)
    elif model is not None and "scattering" in model:
        _validate_classifier(model, image_size)
    elif model is not None and "encoder" in model:
        _validate_generator(model)
    if model is not None:
        for key in ("num_atoms", "n_layers"):
            if key in model:
                check_int(f"model.{key}", model.get(key), 1)
        for key in ("lambda_star", "lr"):
            if key in model:
                check_number(f"model.{key}", model.get(key), 0.0, strict=True)
        if "weight_decay" in model:
            check_number("model.weight_decay", model.weight_decay, 0.0)
    if cfg.get("trainer") is not None:
        _validate_trainer(cfg.trainer)
    grids = (cfg.get("callbacks") or {}).get("reconstruction_grids")
    if grids:
        for key, minimum in (("num_images", 1), ("nrow", 1), ("num_atoms", 0)):
            if key in grids:
                check_int(f"callbacks.reconstruction_grids.{key}", grids.get(key), minimum)
