"""Start-up checks of the model keys of a training config (generator, classifiers and their networks), naming the key and the allowed range.

The data modules check their own keys (``data.*``) in their constructors; the checks here cover the
``model`` group, whose constructors raise plain ``ValueError`` without knowing the config path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real

from omegaconf import DictConfig

from ..errors import ConfigError, check_int

__all__ = ["validate_train_config"]


def _positive(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
        raise ConfigError(key, f"must be a number > 0, got {value!r}")
    return float(value)


def _non_negative(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or value < 0:
        raise ConfigError(key, f"must be a number >= 0, got {value!r}")
    return float(value)


def _fraction(key: str, value, what: str = "[0, 1)") -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value < 1:
        raise ConfigError(key, f"must be a number in {what}, got {value!r}")
    return float(value)


def _choice(key: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(key, f"must be one of {', '.join(allowed)}, got {value!r}")


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
        _positive("model.lr_gamma", model.lr_gamma)
    _choice("model.optimizer", model.get("optimizer", "sgd"), ("sgd", "adam", "adamw"))
    _choice("model.lr_schedule", model.get("lr_schedule", "step"), ("step", "cosine", "constant"))


def _validate_classifier(model: DictConfig, image_size) -> None:
    """``model.*`` of :class:`~gennet.lit.ClassifierModule` in the flat form (``sparse_scatnet`` / ``scatnet``)."""
    _choice("model.architecture", model.get("architecture", "sparse_scatnet"), ("sparse_scatnet", "scatnet"))
    _validate_scattering("model.scattering", model.get("scattering") or {}, image_size)
    for key in ("proj_channels", "hidden", "pool_size", "pool_stride"):
        if key in model:
            check_int(f"model.{key}", model.get(key), 1)
    if "proj_kernel" in model and check_int("model.proj_kernel", model.proj_kernel, 1) % 2 == 0:
        raise ConfigError("model.proj_kernel", f"must be odd, got {model.proj_kernel}")
    if "dropout" in model:
        _fraction("model.dropout", model.dropout)
    if "lambda_min" in model:
        _non_negative("model.lambda_min", model.lambda_min)
    _choice("model.head", model.get("head", "mlp"), ("mlp", "linear"))
    _validate_recipe(model)


def _int_list(key: str, value, allow_empty: bool = False) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or (not value and not allow_empty):
        raise ConfigError(key, f"must be a {'' if allow_empty else 'non-empty '}list of integers >= 1, got {value!r}")
    return [check_int(f"{key}[{i}]", v, 1) for i, v in enumerate(value)]


def _validate_network(model: DictConfig, image_size) -> None:
    """``model.network`` of :class:`~gennet.lit.ClassifierModule`: a network class of :mod:`gennet.models` and its arguments."""
    import inspect

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
        _choice("model.network.stem", network.stem, ("cifar", "imagenet"))
    if model.get("_recursive_", True) is not False:
        raise ConfigError("model._recursive_", "must be false: the module builds model.network itself (see gennet/conf/model/hybrid_scatnet.yaml)")
    _validate_recipe(model)


def _validate_generator(model: DictConfig) -> None:
    """``model.*`` choices of :class:`~gennet.lit.GeneratorModule` (``generator`` / ``cnn_generator``)."""
    _choice("model.architecture", model.get("architecture", "sparse"), ("sparse", "cnn"))
    _choice("model.loss", model.get("loss", "mse"), ("mse", "l1"))
    _choice("model.optimizer", model.get("optimizer", "adam"), ("adam", "adamw", "sgd"))
    _choice("model.lr_schedule", model.get("lr_schedule", "cosine"), ("cosine", "constant"))
    _choice("model.solver", model.get("solver", "admm"), ("admm", "istc", "active_set"))
    _choice("model.atom_init", model.get("atom_init", "data"), ("data", "random"))
    if model.get("checkpoint_layers") and model.get("solver", "admm") != "istc":
        raise ConfigError("model.checkpoint_layers", "is implemented for model.solver=istc only (admm is not unrolled)")
    if model.get("architecture", "sparse") == "sparse" and "lambda_star" in model:
        value = model.lambda_star
        if isinstance(value, Real) and not isinstance(value, bool) and value >= 1:
            raise ConfigError("model.lambda_star", f"is relative to lambda_max and must be in (0, 1) (1 or more gives a zero code), got {value!r}")
    if "cnn_width" in model:
        check_int("model.cnn_width", model.cnn_width, 1)
    for key in ("positive", "learn_lambda", "replace_unused_atoms", "checkpoint_layers", "whiten"):
        if key in model:
            _boolean(f"model.{key}", model.get(key))


def _boolean(key: str, value) -> None:
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {value!r}")


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
    _boolean("test", cfg.get("test", True))
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
                _positive(f"model.{key}", model.get(key))
        if "weight_decay" in model:
            _non_negative("model.weight_decay", model.weight_decay)
    if cfg.get("trainer") is not None:
        _validate_trainer(cfg.trainer)
    grids = (cfg.get("callbacks") or {}).get("reconstruction_grids")
    if grids:
        for key, minimum in (("num_images", 1), ("nrow", 1), ("num_atoms", 0)):
            if key in grids:
                check_int(f"callbacks.reconstruction_grids.{key}", grids.get(key), minimum)
