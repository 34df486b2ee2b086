"""The statistics model ``synthesize.py`` (and ``benchmarks/bench_fields.py``) imposes, built from the config's keys
with one clear line per bad value.

``model`` picks it (:data:`MODELS`): ``joint`` (the default: the phase-harmonic covariances of ``statistics`` and the
scattering spectra of ``spectra`` imposed together, :class:`~gennet.stationary.JointStatistics` with the weights of
``joint``), ``phase_harmonic`` or ``scattering_spectra`` alone, or ``gaussian`` (no microcanonical model: the
random-phase baseline only).
"""

from __future__ import annotations

from omegaconf import DictConfig
from torch import nn

from ..errors import ConfigError, check_int, check_number

__all__ = ["MODELS", "SYNTHESIS_KEYS", "build_statistics", "check_model", "synthesize_defaults"]

#: The values of ``model``.
MODELS = ("joint", "scattering_spectra", "phase_harmonic", "gaussian")

#: The keys of ``synthesis`` that are :func:`~gennet.stationary.synthesize`'s arguments.
SYNTHESIS_KEYS = ("n_iter", "init", "history_size", "check_every", "plateau", "patience", "match_histogram",
                  "histogram_levels", "histogram_weight")


def synthesize_defaults(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """``synthesize.py``'s config with its defaults (``gennet/conf/synthesize/synthesize.yaml``, without Hydra's keys)
    and ``key=value`` overrides: what the benchmarks run, so that they measure the defaults a user gets."""
    from pathlib import Path

    from omegaconf import OmegaConf

    cfg = OmegaConf.load(Path(__file__).resolve().parents[1] / "conf" / "synthesize" / "synthesize.yaml")
    cfg.pop("defaults", None)
    cfg.pop("hydra", None)
    return OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))


def check_model(cfg: DictConfig) -> str:
    """``cfg.model`` if it is one of :data:`MODELS` (else :class:`ConfigError`)."""
    if cfg.model not in MODELS:
        raise ConfigError("model", f"must be one of {', '.join(MODELS)}, got {cfg.model!r}")
    return str(cfg.model)


def _check_scales(key: str, J, shape: tuple[int, int], multiple: bool) -> int:
    J = check_int(f"{key}.J", J, 1)
    if 2**J > min(shape) or (multiple and (shape[0] % 2**J or shape[1] % 2**J)):
        rule = "multiples of" if multiple else "at least"
        raise ConfigError("size", f"{shape[0]}×{shape[1]} must be {rule} 2**J = {2**J} ({key}.J={J}); choose another size or J")
    return J


def _instantiate(key: str, keys: DictConfig, shape: tuple[int, int], channels: int) -> nn.Module:
    from hydra.utils import instantiate

    try:
        return instantiate(keys, shape=shape, channels=channels, _convert_="all")
    except Exception as error:
        cause = error.__cause__ or error
        raise ConfigError(key, str(cause).strip().splitlines()[0]) from None


def _phase_harmonic(cfg: DictConfig, shape: tuple[int, int], channels: int) -> nn.Module:
    keys = cfg.statistics
    _check_scales("statistics", keys.J, shape, multiple=True)
    check_int("statistics.L", keys.L, 1)
    if check_int("statistics.A", keys.A, 4) % 2:
        raise ConfigError("statistics.A", f"must be even, got {keys.A}")
    for key in ("delta_j", "delta_theta", "oversampling"):
        check_int(f"statistics.{key}", keys[key], 0)
    return _instantiate("statistics", keys, shape, channels)


def _scattering_spectra(cfg: DictConfig, shape: tuple[int, int], channels: int) -> nn.Module:
    from ..stationary.spectra_catalogue import REDUCTIONS

    keys = cfg.spectra
    _check_scales("spectra", keys.J, shape, multiple=False)
    check_int("spectra.L", keys.L, 2)
    if keys.reduction not in REDUCTIONS:
        raise ConfigError("spectra.reduction", f"must be one of {', '.join(REDUCTIONS)}, got {keys.reduction!r}")
    check_int("spectra.scale_harmonics", keys.scale_harmonics, 1)
    return _instantiate("spectra", keys, shape, channels)


def build_statistics(cfg: DictConfig, shape: tuple[int, int], channels: int) -> nn.Module | None:
    """The statistics operator of ``cfg.model`` for images of ``shape`` with ``channels`` colours (``None`` for
    ``gaussian``).

    Raises:
        ConfigError: an unknown model, bad keys of ``statistics``, ``spectra`` or ``joint`` (named), a size the scales do
            not fit.
    """
    model = check_model(cfg)
    if model == "gaussian":
        return None
    if model == "phase_harmonic":
        return _phase_harmonic(cfg, shape, channels)
    if model == "scattering_spectra":
        return _scattering_spectra(cfg, shape, channels)
    from ..stationary import JointStatistics

    weights = {name: check_number(f"joint.weights.{name}", cfg.joint.weights[name], 0, strict=True)
               for name in ("phase_harmonic", "scattering_spectra")}
    models = {"phase_harmonic": _phase_harmonic(cfg, shape, channels), "scattering_spectra": _scattering_spectra(cfg, shape, channels)}
    return JointStatistics(models, weights)
