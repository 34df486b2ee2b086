"""Turning user errors into one clear line and a non-zero exit (no traceback)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from hydra.errors import InstantiationException
from omegaconf.errors import MissingMandatoryValue

from ..errors import ConfigError

__all__ = ["user_errors", "EXIT_USER_ERROR"]

EXIT_USER_ERROR = 2


def _root_cause(error: BaseException) -> BaseException:
    while isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__
    return error


@contextmanager
def user_errors(catch_value_errors: bool = True) -> Iterator[None]:
    """Print ``error: <key>: <message>`` on stderr and exit with status 2 for bad user input.

    Handles :class:`~gennet.errors.ConfigError` (the key is named), a missing mandatory config value
    (``???``), and — while building objects from the config (``catch_value_errors``) — the
    ``ValueError``/``FileNotFoundError`` a constructor raises for a bad argument, also when Hydra wraps
    it in an ``InstantiationException``. Anything else propagates with its traceback (a bug, not a
    user error).
    """
    try:
        yield
    except (ConfigError, MissingMandatoryValue, InstantiationException, ValueError, FileNotFoundError) as raw:
        error = _root_cause(raw)
        if isinstance(error, ConfigError):
            message = f"{error.key}: {error.message}"
        elif isinstance(error, MissingMandatoryValue):
            key = getattr(error, "full_key", "") or "config"
            message = f"{key}: missing value (set it on the command line, e.g. {key}=...)"
        elif catch_value_errors and isinstance(error, (ValueError, FileNotFoundError, InstantiationException)):
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
        else:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
