"""User-facing errors: one clear line, no traceback (handled by :mod:`gennet.cli`)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A bad user value (config key, path, image, checkpoint).

    ``key`` names the culprit as the user wrote it (e.g. ``"model.encoder.J"`` or ``"data.root"``);
    the CLI prints ``f"error: {key}: {message}"`` and exits with status 2.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message
