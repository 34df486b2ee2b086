"""Start-up checks shared by every entry point, run before any work: the config's keys (Hydra's own override
errors), output paths, booleans and numbers. Each failure is one line ``error: KEY: …`` and exit 2
(:func:`gennet.cli.errors.user_errors`); nothing has been computed or written by then.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ..errors import ConfigError, check_bool, check_number
from .errors import EXIT_USER_ERROR, user_errors

__all__ = [
    "entry_point",
    "check_overrides",
    "check_output_file",
    "check_output_dir",
    "check_bool",
    "check_number",
    "check_finite_values",
    "claimed",
    "writing",
]

#: The suffixes of the image files the entry points write (PIL picks the format by the suffix).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

#: The Hydra configs, ``gennet/conf/``: they ship inside the package, so a non-editable install finds them.
CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "conf")


# ---------------------------------------------------------------------------------------------- config keys
def _override_error(error: BaseException) -> str:
    """``KEY: message`` for one of Hydra's composition or parse errors."""
    text = str(error).strip()
    found = re.search(r"Could not override '([^']+)'", text)
    if found:
        key = found.group(1)
        return f"{key}: unknown key (check its spelling; a new key is added with +{key}=…)"
    found = re.search(r"Could not (?:find|load) '([^']+)'", text)
    if found:
        group, _, option = found.group(1).rpartition("/")
        options = re.findall(r"^\s+(\S+)\s*$", text.split("Available options", 1)[-1], flags=re.M) if "Available options" in text else []
        available = f" (available: {', '.join(options)})" if options else ""
        return f"{group or option}: unknown option '{option}'{available}"
    found = re.search(r"Key '([^']+)' is not in struct", text)
    if found:
        return f"{found.group(1)}: unknown key"
    found = re.search(r"Error parsing override '([^']+)'", text)
    if found:
        return f"{found.group(1)}: cannot parse this override (KEY=VALUE; quote values with spaces or special characters)"
    return f"config: {text.splitlines()[0] if text else type(error).__name__}"


def check_overrides(config_name: str, argv: list[str], config_dir: str = CONFIG_DIR) -> None:
    """Compose ``config_name`` with the overrides in ``argv`` as Hydra will, and turn its errors (an unknown key,
    an unknown option of a group, an override that does not parse) into :class:`ConfigError`.

    Command lines with Hydra's own flags (``--help``, ``--cfg``, ``--multirun``, …) are left to Hydra.
    """
    from hydra import compose, initialize_config_dir
    from hydra._internal.utils import get_args_parser
    from hydra.errors import HydraException, OverrideParseException

    try:
        args, unknown = get_args_parser().parse_known_args(argv)
    except SystemExit:  # argparse already printed its usage line
        raise ConfigError("command line", "cannot parse the arguments") from None
    if unknown or any(getattr(args, flag, None) for flag in ("help", "hydra_help", "cfg", "info", "shell_completion",
                                                              "multirun", "resolve", "package", "experimental_rerun")):
        return
    try:
        with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
            cfg = compose(config_name, overrides=list(args.overrides), return_hydra_config=True)
    except OverrideParseException as error:
        override = str(getattr(error, "override", "") or "override")
        raise ConfigError(override.split("=", 1)[0], f"cannot parse '{override}' (KEY=VALUE; quote values with spaces "
                                                     "or brackets)") from None
    except HydraException as error:
        key, _, message = _override_error(error).partition(": ")
        raise ConfigError(key, message) from None
    _check_run_dir(cfg)


def _check_run_dir(cfg) -> None:
    """``hydra.run.dir`` (where Hydra writes the run) is not a file and can be created: checked here, before Hydra
    makes the folder and fails with a traceback."""
    from omegaconf import OmegaConf

    try:
        run_dir = OmegaConf.select(cfg, "hydra.run.dir")
    except Exception:  # an interpolation only Hydra's runtime resolves: left to Hydra
        return
    if run_dir not in (None, "", "."):
        check_output_dir("hydra.run.dir", run_dir)


def entry_point(config_name: str, config_dir: str = CONFIG_DIR) -> Callable:
    """``@hydra.main`` for gennet's entry points, with the command line checked first (:func:`check_overrides`):
    an unknown key or group option gives one line ``error: KEY: …`` and exit 2 instead of Hydra's five-line
    message and exit 1."""
    import hydra

    def wrap(task: Callable) -> Callable:
        hydra_task = hydra.main(version_base="1.3", config_path=config_dir, config_name=config_name)(task)

        @functools.wraps(task)
        def main(*args, **kwargs):
            if not args and not kwargs:  # called as a console script: the overrides are sys.argv
                try:
                    check_overrides(config_name, sys.argv[1:], config_dir)
                except ConfigError as error:
                    print(f"error: {error.key}: {error.message}", file=sys.stderr)
                    sys.exit(EXIT_USER_ERROR)
            return hydra_task(*args, **kwargs)

        return main

    return wrap


# ---------------------------------------------------------------------------------------------- output paths
def _writable_folder(key: str, folder: Path) -> None:
    """``folder`` exists and accepts a new file, or can be created under a writable folder."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(key, f"'{folder}' cannot be created: '{existing}' is a file, not a directory")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ConfigError(key, f"cannot write into '{existing}' ({error.strerror or type(error).__name__})") from None


def check_output_file(key: str, path, default_suffix: str | None = None, allowed_suffixes: Iterable[str] | None = None) -> Path:
    """The file a command will write, checked before the work: not an existing file (an earlier result is never
    overwritten), not a directory, its folder writable or creatable. A name without a suffix gets
    ``default_suffix``. Returns the path that will be written.

    Raises:
        ConfigError: ``key``, naming the path and the reason.
    """
    path = Path(str(path)).expanduser()
    if str(path) in ("", "."):
        raise ConfigError(key, "no output path given")
    if path.is_dir():
        raise ConfigError(key, f"'{path}' is a directory; give a file name (e.g. {path / ('output' + (default_suffix or ''))})")
    if default_suffix and not path.suffix:
        path = path.with_name(path.name + default_suffix)
    if allowed_suffixes is not None and path.suffix.lower() not in tuple(allowed_suffixes):
        raise ConfigError(key, f"'{path}' must end in one of {', '.join(allowed_suffixes)}")
    if path.exists() or path.is_symlink():
        raise ConfigError(key, f"'{path}' already exists (an earlier result); choose another name or remove it")
    _writable_folder(key, path.parent)
    return path


def check_output_dir(key: str, path, results: Iterable[str] = ()) -> Path:
    """A folder a command will write ``results`` (file names) into, checked before the work: not a file, writable
    or creatable, and holding none of ``results`` from an earlier run.

    Raises:
        ConfigError: ``key``, naming the path and the reason.
    """
    path = Path(str(path)).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(key, f"'{path}' is a file, not a directory")
    earlier = [name for name in results if (path / name).exists()]
    if earlier:
        raise ConfigError(key, f"'{path}' already holds an earlier result ({earlier[0]}); choose another directory")
    _writable_folder(key, path)
    return path


@contextmanager
def writing(key: str = "output", exclusive: bool = True, folders: Iterable = ()) -> Iterator[None]:
    """The result files written in the block appear together or not at all (:func:`gennet.files.written_together`;
    ``exclusive``: none of them replaces a file); a full or failing disk, or a file another run wrote meanwhile, is one
    line ``error: KEY: …`` and exit 2, with nothing of the result left and every earlier file as it was."""
    from ..files import written_together

    with user_errors(catch_value_errors=False), written_together(key, exclusive, folders):
        yield


# ---------------------------------------------------------------------------------------------- values
def check_finite_values(prefix: str, values) -> None:
    """Every float under ``values`` (a mapping or list, e.g. the ``model`` group) is finite: ``nan`` and ``inf``
    are refused, naming the key (``model.lr``)."""
    if isinstance(values, Mapping) or hasattr(values, "items"):
        for name, value in values.items():
            check_finite_values(f"{prefix}.{name}" if prefix else str(name), value)
    elif isinstance(values, (list, tuple)) or type(values).__name__ == "ListConfig":
        for i, value in enumerate(values):
            check_finite_values(f"{prefix}[{i}]", value)
    elif isinstance(values, float) and not math.isfinite(values):
        raise ConfigError(prefix, f"must be finite, got {values}")


# ---------------------------------------------------------------------------------------------- run directories
@contextmanager
def claimed(folder, key: str = "hydra.run.dir", enabled: bool = True) -> Iterator[None]:
    """Hold ``folder``'s run lock (:func:`gennet.run_lock.run_lock`) for the block: a second run into the same folder
    stops with one line ``error: KEY: … is in use by another run …`` and exit 2 before any work. ``enabled=False``
    (the processes a distributed launcher started besides the first one, which share the first one's folder): no lock.
    """
    from ..run_lock import run_lock

    with ExitStack() as stack:
        if enabled:
            with user_errors():
                stack.enter_context(run_lock(folder, key))
        yield
