"""User-facing errors: one clear line, no traceback (handled by :mod:`gennet.cli`)."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any


class ConfigError(ValueError):
    """A bad user value (config key, path, image, checkpoint).

    ``key`` names the culprit as the user wrote it (e.g. ``"model.encoder.J"`` or ``"data.root"``);
    the CLI prints ``f"error: {key}: {message}"`` and exits with status 2.
    """

    def __init__(self, key: str, message: str | None = None) -> None:
        if message is None:  # rebuilt from its text alone (a DataLoader worker re-raises it so): "... key: message"
            text = key.strip().splitlines()[-1] if key.strip() else "error"
            text = text.split("ConfigError: ", 1)[-1]
            key, _, message = text.partition(": ")
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def check_int(key: str, value: Any, minimum: int, maximum: int | None = None, why: str = "") -> int:
    """Return ``value`` if it is an int in ``[minimum, maximum]``, else raise ``ConfigError(key, …)``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"expected an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ConfigError(key, f"must be {bounds}{why}, got {value}")
    return value


def check_bool(key: str, value) -> bool:
    """``value`` if it is a boolean (``true`` / ``false`` on the command line), else :class:`ConfigError`."""
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return value


def check_number(key: str, value, minimum: float | None = None, maximum: float | None = None,
                 strict: bool = False) -> float:
    """``value`` as a finite float in ``[minimum, maximum]`` (``(minimum, …`` with ``strict``), else :class:`ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ConfigError(key, f"must be a finite number, got {value!r}")
    value = float(value)
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ConfigError(key, f"must be {'>' if strict else '>='} {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ConfigError(key, f"must be <= {maximum:g}, got {value:g}")
    return value
