"""Writing result files so that an interruption never leaves a truncated one: a temporary file beside the
target, renamed over it only once it is complete (``os.replace`` is atomic on POSIX within one file system)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "write_text_atomic", "save_torch_atomic"]


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder (same suffix, so that writers that pick a format by
    suffix — matplotlib, PIL — keep it); on a normal exit it is renamed to ``path``, on an exception it is
    removed and ``path`` is left as it was.

    Raises:
        FileNotFoundError: the folder of ``path`` does not exist.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix or ".tmp")
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
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
