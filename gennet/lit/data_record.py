"""The data a model was trained on, recorded in its checkpoint so that sample.py / interpolate.py /
evaluate.py can rebuild it (``checkpoint["gennet_data"]``: plain types, loads with ``weights_only=True``).

The record names its class; only the data modules of :data:`gennet.data.registry.DATA_MODULES` are built from it,
with its arguments checked against their constructor first (:mod:`gennet.registry`): a checkpoint cannot make the
loader import or call anything else."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["DataRecord", "datamodule_record", "datamodule_from_record"]

KEY = "gennet_data"


def _plain(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def datamodule_record(datamodule) -> dict[str, Any] | None:
    """``{"_target_": "module.Class", **constructor arguments}`` of a data module that saved its
    hyper-parameters (every gennet data module does), or ``None``."""
    hparams = getattr(datamodule, "hparams", None)
    if datamodule is None or not hparams:
        return None
    cls = type(datamodule)
    return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **_plain(dict(hparams))}


def datamodule_from_record(record: dict[str, Any], overrides: dict[str, Any] | None = None, key: str = KEY):
    """The recorded data module, with ``overrides`` (e.g. a moved ``root``) applied: a data module of
    :data:`~gennet.data.registry.DATA_MODULES`, its arguments checked before its constructor runs.

    Raises:
        ValueError: ``"KEY…: …"`` for a record that is not a mapping, names another class or gives an argument its
            constructor does not take or that is not a plain value; the data module's own :class:`ConfigError`.
    """
    from ..data.registry import DATA_MODULES

    if not isinstance(record, dict):
        raise ValueError(f"{key}: must be a mapping with a _target_, got a {type(record).__name__}")
    return DATA_MODULES.build({**record, **(overrides or {})}, key)


class DataRecord:
    """LightningModule mixin: writes :func:`datamodule_record` of the trainer's data module into every checkpoint."""

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        trainer = getattr(self, "_trainer", None)
        record = datamodule_record(getattr(trainer, "datamodule", None)) if trainer is not None else None
        if record is not None:
            checkpoint[KEY] = record
