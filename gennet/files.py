"""Writing result files so that an interruption never leaves a truncated one: a temporary file beside the
target, flushed to disk and renamed over it only once it is complete (``os.replace`` is atomic on POSIX within one
file system). The file gets the permissions a plain ``open(path, "w")`` would give it: the umask's for a new file,
the earlier file's mode when one is replaced."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "write_text_atomic", "save_torch_atomic", "save_figure_atomic", "save_image_atomic"]


def _umask() -> int:
    """The process's umask (read from ``/proc`` where it can be, which leaves it untouched; else set and restored)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """The permission bits a plain write of ``path`` would leave: the existing file's, else ``0o666 & ~umask``."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder (``.<stem>.<random><suffix>``: same suffix, so that writers that
    pick a format by suffix — matplotlib, PIL, numpy — keep it); on a normal exit it is flushed to disk, given the
    permissions a plain write would give (:func:`_mode_for`) and renamed to ``path``; on an exception (also
    ``KeyboardInterrupt``) it is removed and ``path`` is left as it was.

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix or ".tmp")
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        os.chmod(temporary, _mode_for(path))
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def write_text_atomic(path: str | Path, text: str) -> None:
    """``Path(path).write_text(text)`` through a temporary file and a rename."""
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def save_torch_atomic(obj, path: str | Path) -> None:
    """``torch.save(obj, path)`` through a temporary file and a rename (a reader never sees half a file)."""
    import torch

    with atomic_path(path) as temporary:
        torch.save(obj, temporary)


def save_figure_atomic(figure, path: str | Path, **kwargs) -> Path:
    """``figure.savefig(path, **kwargs)`` (a matplotlib ``Figure``; the format from the suffix) through a temporary
    file and a rename. Returns ``path``."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, **kwargs)
    return Path(path)


def save_image_atomic(image, path: str | Path, **kwargs) -> Path:
    """``image.save(path, **kwargs)`` (a PIL image; the format from the suffix unless ``format=`` is given) through a
    temporary file and a rename. Returns ``path``."""
    with atomic_path(path) as temporary:
        image.save(temporary, **kwargs)
    return Path(path)
