"""Start-up checks of the model keys of a training config, naming the key and the allowed range.

The data modules check their own keys (``data.*``) in their constructors; the checks here cover the
``model`` group, whose constructors raise plain ``ValueError`` without knowing the config path.
"""

from __future__ import annotations

from numbers import Real

from omegaconf import DictConfig

from ..errors import ConfigError, check_int

__all__ = ["validate_train_config"]


def _positive(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
        raise ConfigError(key, f"must be a number > 0, got {value!r}")
    return float(value)


def validate_train_config(cfg: DictConfig) -> None:
    """Raise :class:`~gennet.errors.ConfigError` for the first bad model/trainer value of ``cfg``."""
    model, data = cfg.get("model"), cfg.get("data")
    image_size = data.get("image_size") if data is not None else None
    if model is not None and "encoder" in model:
        encoder = model.encoder
        J = check_int("model.encoder.J", encoder.get("J"), 1)
        if isinstance(image_size, int) and not isinstance(image_size, bool):
            if 2**J > image_size:
                raise ConfigError(
                    "model.encoder.J",
                    f"J={J} is too large for {image_size}x{image_size} images: need 2**J <= data.image_size "
                    f"(largest allowed J = {max(image_size.bit_length() - 1, 0)})",
                )
            if image_size % 2**J:
                raise ConfigError("model.encoder.J", f"2**J = {2**J} must divide data.image_size = {image_size}")
        check_int("model.encoder.L", encoder.get("L", 8), 1)
        A = check_int("model.encoder.A", encoder.get("A", 4), 4)
        if A % 2:
            raise ConfigError("model.encoder.A", f"must be even and >= 4, got {A}")
        if "atom_size" in model and isinstance(image_size, int):
            check_int("model.atom_size", model.atom_size, 1, max(image_size // 2**J, 1), why=" (the coarse grid size)")
    if model is not None:
        for key in ("num_atoms", "n_layers"):
            if key in model:
                check_int(f"model.{key}", model.get(key), 1)
        for key in ("lambda_star", "lr"):
            if key in model:
                _positive(f"model.{key}", model.get(key))
    trainer = cfg.get("trainer")
    if trainer is not None and trainer.get("max_epochs") not in (None, -1):
        check_int("trainer.max_epochs", trainer.get("max_epochs"), 1, why=" (or -1 for no limit)")
