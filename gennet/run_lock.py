"""A run directory claimed by one run at a time: ``<run_dir>/.gennet.lock``, created with ``O_CREAT | O_EXCL`` and held
with an advisory lock (``flock``) for the life of the run, removed at exit.

A second run into the same directory finds the file and its ``flock`` taken: it refuses in one line naming the holder
(process id, host, start time). A lock left by a run that died without its clean-up (``SIGKILL``, a crash of the
machine) is stale: the kernel dropped its ``flock`` with the process, so the next run takes the file over (and says so).
The file is never replaced while a run may hold it: a run that takes a stale lock over locks that very file, then
checks that it is still the one at the path (not removed and recreated by a run ending meanwhile).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError

__all__ = ["LOCK_NAME", "run_lock"]

LOCK_NAME = ".gennet.lock"


def _holder(fd: int) -> str:
    """``pid N on HOST since TIME`` from a lock file's record (whatever can be read of it)."""
    try:
        record = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(record["time"])))
        return f"pid {int(record['pid'])} on {record['host']} since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a run that is starting"


def _open_locked(path: Path) -> tuple[int, bool]:
    """A descriptor of ``path`` holding its ``flock``, and whether the file was created here (``False``: taken over from
    a dead run). Raises ``BlockingIOError`` with the descriptor's holder in ``args`` when a live run holds it."""
    while True:
        created = True
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            created = False
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:  # released between the two calls: try again
                continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise BlockingIOError(holder) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd, created
        os.close(fd)  # the file was removed (its run ended) after we opened it: claim the path afresh


@contextmanager
def run_lock(folder: str | os.PathLike, key: str = "hydra.run.dir") -> Iterator[Path]:
    """Hold ``folder``'s lock for the block; see the module docstring. A folder created here is removed again at the
    end if the run left it empty.

    Raises:
        ConfigError: ``key``, when another live run holds the folder, or the lock cannot be created there.
    """
    folder = Path(folder)
    path = folder / LOCK_NAME
    new_folder = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, created = _open_locked(path)
    except BlockingIOError as busy:
        raise ConfigError(key, f"'{folder}' is in use by another run ({busy.args[0]}); wait for it to end, "
                               "or choose another directory") from None
    except OSError as error:
        raise ConfigError(key, f"cannot claim '{folder}' ({error.strerror or type(error).__name__})") from None
    try:
        if not created:
            print(f"note: {key}: '{folder}' held the lock of a run that ended without releasing it; taken over",
                  file=sys.stderr)
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
        yield path
    finally:
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                path.unlink()
            if new_folder:
                folder.rmdir()  # a folder made for the lock alone, left empty by a run that wrote nothing
        except OSError:
            pass
        os.close(fd)
