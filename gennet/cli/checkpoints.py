"""Reading checkpoints given by users: ``weights_only=True`` always, and one clear line for anything else."""

from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from ..errors import ConfigError

__all__ = ["load_checkpoint", "load_module"]


def load_checkpoint(path: str | Path | None) -> dict:
    """``torch.load(path, weights_only=True)`` of a Lightning checkpoint, or one clear :class:`ConfigError`.

    Never unpickles arbitrary objects: a file that needs more than tensors and plain types (a malicious
    or foreign pickle) is refused before any of its code runs.
    """
    if path in (None, "", "???"):
        raise ConfigError("ckpt_path", "no checkpoint given (ckpt_path=PATH/TO/last.ckpt)")
    path = Path(str(path)).expanduser()
    if not path.is_file():
        raise ConfigError("ckpt_path", f"no checkpoint file at '{path}'")
    try:
        with warnings.catch_warnings():  # e.g. torch's note on the pickle protocol of a foreign file
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        detail = str(error).split("WeightsUnpickler error:")[-1].strip().splitlines()
        reason = detail[0].strip() if detail else type(error).__name__
        raise ConfigError("ckpt_path", f"'{path}' is not a plain checkpoint; refused to unpickle it ({reason[:160]})") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as error:
        raise ConfigError("ckpt_path", f"'{path}' is not a readable checkpoint ({type(error).__name__})") from None
    if not isinstance(checkpoint, dict) or not {"state_dict", "hyper_parameters"} <= set(checkpoint):
        raise ConfigError("ckpt_path", f"'{path}' is not a gennet checkpoint (no state_dict / hyper_parameters)")
    return checkpoint


def load_module(module_class, path: str | Path, device: torch.device, kind: str, hint: str):
    """``module_class(**hyper_parameters)`` with the checkpoint's weights (:func:`load_checkpoint`), in eval mode on
    ``device``, and the checkpoint; a checkpoint of another module is refused with one line naming ``kind`` and ``hint``
    (how to train one)."""
    checkpoint = load_checkpoint(path)
    try:
        module = module_class(**checkpoint["hyper_parameters"])
        module.load_state_dict(checkpoint["state_dict"])
    except (TypeError, RuntimeError, ValueError):
        raise ConfigError("ckpt_path", f"'{path}' is not a {kind} checkpoint ({hint})") from None
    return module.to(device).eval(), checkpoint
