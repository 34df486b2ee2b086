"""Reading checkpoints given by users: ``weights_only=True`` always, and one clear line for anything else."""

from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from ..errors import ConfigError
from ..registry import check_arguments, weight_problems

__all__ = ["check_weights_fit", "load_checkpoint", "load_module"]


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


def check_weights_fit(model: torch.nn.Module, state_dict: dict, path: str | Path,
                      advice: str = "resume with the overrides it was trained with") -> None:
    """The weights of a checkpoint fit ``model``: tensors only, the same parameter and buffer names, the same shapes,
    every floating-point value finite.

    Raises:
        ConfigError: ``ckpt_path``, naming the first mismatched or non-finite weights (a classifier's checkpoint given to
            the generator config, ``ckpt_path=last`` after a change of e.g. ``model.num_atoms``, a damaged file).
    """
    problems = weight_problems(model.state_dict(), state_dict)
    if problems:
        shown = "; ".join(problems[:3]) + (f"; … ({len(problems)} problems)" if len(problems) > 3 else "")
        raise ConfigError("ckpt_path", f"'{path}' does not fit the configured model ({shown}); {advice}")


def load_module(module_class, path: str | Path, device: torch.device, kind: str, hint: str):
    """``module_class(**hyper_parameters)`` with the checkpoint's weights (:func:`load_checkpoint`), in eval mode on
    ``device``, and the checkpoint.

    The hyper-parameters are checked before the module is built: arguments of ``module_class`` only, plain values
    (:func:`gennet.registry.check_arguments`), and the classes they name looked up in gennet's registries; the weights
    then fit the module exactly (:func:`check_weights_fit`).

    Raises:
        ConfigError: ``ckpt_path`` for a checkpoint of another module (naming ``kind`` and ``hint``, how to train one) or
            one whose hyper-parameters or weights do not pass these checks (naming the culprit).
    """
    checkpoint = load_checkpoint(path)
    try:
        arguments = check_arguments(module_class, checkpoint["hyper_parameters"], "hyper_parameters")
        module = module_class(**arguments)
    except (TypeError, ValueError) as error:
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise ConfigError("ckpt_path", f"'{path}' is not a {kind} checkpoint gennet can build ({reason}; {hint})") from None
    except RuntimeError as error:  # e.g. widths that do not fit in memory
        reason = str(error).strip().splitlines()[0][:200]
        raise ConfigError("ckpt_path", f"'{path}': its hyper_parameters cannot be built here ({reason})") from None
    check_weights_fit(module, checkpoint["state_dict"], path, "its weights are not those its hyper_parameters describe")
    module.load_state_dict(checkpoint["state_dict"])
    return module.to(device).eval(), checkpoint
