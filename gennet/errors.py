"""User-facing errors: one clear line, no traceback (handled by :mod:`gennet.cli`)."""

from __future__ import annotations

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
